extension Gateway {
    func ping(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        try r.rejectUnknownFields()
        reply.ok { w in
            w.key("version"); w.string(jobgateVersion)
            w.key("redis"); w.string(store.state)
            w.key("limits"); writeLimits(&w)
        }
    }
}
