@preconcurrency import Glibc

/// An environment variable, treating empty as unset: `VAR= jobgate ...` cancels a setting.
func environment(_ name: String) -> String? {
    guard let value = getenv(name), value.pointee != 0 else { return nil }
    return String(cString: value)
}
