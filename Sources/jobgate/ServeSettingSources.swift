import ArgumentParser

/// Reads `serve`'s settings from where they can be given (see `ServeSetting`), each by the
/// flag property that names its row in `Serve.settings`.
struct ServeSettingSources {
    private let flags: Serve
    private let file: [String: ConfigValue]

    init(_ flags: Serve) throws {
        self.flags = flags
        file = try flags.config.map(ConfigFile.load) ?? [:]
        let known = Set(Serve.settings.map(\.name))
        if let unknown = file.keys.sorted().first(where: { !known.contains($0) }) {
            throw ValidationError("\(flags.config!): unknown setting '\(unknown)'")
        }
    }

    func text(_ flag: KeyPath<Serve, String?>) throws -> String? {
        let setting = Self.setting(flag)
        guard case .text(_, let fallback) = setting.kind else { preconditionFailure("\(setting.name) is not text") }
        return try given(setting, flags[keyPath: flag]) ?? fallback
    }

    /// A text setting the table gives a default.
    func textOrDefault(_ flag: KeyPath<Serve, String?>) throws -> String {
        guard let value = try text(flag) else { preconditionFailure("\(Self.setting(flag).name) has no default") }
        return value
    }

    func number(_ flag: KeyPath<Serve, Int?>) throws -> Int {
        let setting = Self.setting(flag)
        guard case .number(_, let fallback, let allowed) = setting.kind else { preconditionFailure("\(setting.name) is not a number") }
        let value = try flags[keyPath: flag] ?? wholeNumber(setting) ?? fallback
        guard allowed.contains(value) else {
            let bounds = allowed.upperBound == Int.max ? "at least \(allowed.lowerBound)" : "between \(allowed.lowerBound) and \(allowed.upperBound)"
            throw ValidationError("\(setting.name) must be \(bounds)")
        }
        return value
    }

    func bool(_ flag: KeyPath<Serve, Bool>) -> Bool {
        let setting = Self.setting(flag)
        if flags[keyPath: flag] { return true }
        if let variable = environment(setting.environmentName) { return variable == "1" || variable == "true" }
        if case .bool(let value)? = file[setting.name] { return value }
        return false
    }

    func addresses(_ flag: KeyPath<Serve, [String]>) throws -> [String] {
        let setting = Self.setting(flag)
        guard case .addresses(_, let fallback) = setting.kind else { preconditionFailure("\(setting.name) is not addresses") }
        var texts = flags[keyPath: flag]
        if texts.isEmpty, let variable = environment(setting.environmentName) { texts = variable.split(separator: ",").map(String.init) }
        guard texts.isEmpty else { return texts }
        switch file[setting.name] {
        case .strings(let list)?: return list
        case .string(let one)?: return [one]
        case nil: return fallback
        default: throw ValidationError("config '\(setting.name)' must be a list of addresses")
        }
    }

    /// The first line of the setting's file, else its `orVariable`; with where it came from.
    func secret(_ flag: KeyPath<Serve, String?>) throws -> (value: String, source: String)? {
        let setting = Self.setting(flag)
        guard case .secretFile(_, let variable) = setting.kind else { preconditionFailure("\(setting.name) is not a secret file") }
        if let path = try given(setting, flags[keyPath: flag]) {
            guard let content = readWholeFile(path) else { throw ValidationError("cannot read \(setting.name) \(path)") }
            let first = content.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""  // "\r\n" is one Character
            guard !first.isEmpty else { throw ValidationError("\(setting.name) \(path) is empty") }
            return (first, path)
        }
        return variable.flatMap { name in environment(name).map { ($0, name) } }
    }

    /// The flag, else the environment variable, else the file's text.
    private func given(_ setting: ServeSetting, _ flag: String?) throws -> String? {
        if let flag { return flag }
        if let variable = environment(setting.environmentName) { return variable }
        switch file[setting.name] {
        case nil: return nil
        case .string(let text)?: return text
        case .integer(let number)?: return String(number)
        default: throw ValidationError("config '\(setting.name)' must be a string")
        }
    }

    private func wholeNumber(_ setting: ServeSetting) throws -> Int? {
        if let variable = environment(setting.environmentName) {
            guard let number = Int(variable) else { throw ValidationError("\(setting.environmentName) must be a whole number") }
            return number
        }
        switch file[setting.name] {
        case nil: return nil
        case .integer(let number)?: return number
        default: throw ValidationError("config '\(setting.name)' must be a whole number")
        }
    }

    private static func setting(_ flag: AnyKeyPath) -> ServeSetting {
        guard let setting = Serve.settings.first(where: { $0.kind.flag == flag }) else {
            preconditionFailure("\(flag) has no row in Serve.settings")
        }
        return setting
    }
}

private extension ServeSetting.Kind {
    var flag: AnyKeyPath {
        switch self {
        case .text(let flag, _), .secretFile(let flag, _): flag
        case .number(let flag, _, _): flag
        case .bool(let flag): flag
        case .addresses(let flag, _): flag
        }
    }
}
