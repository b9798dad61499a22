/// A FIFO queue on a power-of-two ring: O(1) push and pop without shifting elements.
public struct Ring<Element> {
    /// Empty until the first push: a ring per connection must cost nothing while it is idle.
    private var slots: [Element?] = []
    private var head = 0
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }
    public var first: Element? { count > 0 ? slots[head] : nil }

    public mutating func push(_ e: Element) {
        if count == slots.count { grow() }
        slots[(head + count) & (slots.count - 1)] = e
        count += 1
    }

    public mutating func pop() -> Element? {
        guard count > 0 else { return nil }
        let e = slots[head]
        slots[head] = nil
        head = (head + 1) & (slots.count - 1)
        count -= 1
        return e
    }

    public mutating func removeAll() {
        while pop() != nil {}
    }

    private mutating func grow() {
        var bigger: [Element?] = Array(repeating: nil, count: max(16, slots.count * 2))
        for i in 0..<count { bigger[i] = slots[(head + i) & (slots.count - 1)] }
        slots = bigger
        head = 0
    }
}
