/// `15` for a whole number (without Swift's `.0`), else the shortest exact form (`0.5`): how
/// error messages, metrics and the command-line tools print a Double.
public func plainNumber(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
}
