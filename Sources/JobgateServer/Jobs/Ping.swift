extension Gateway {
    func ping(_ r: inout Request, _ reply: ReplyTicket) throws(OpError) {
        try r.rejectUnknownFields()
        reply.ok { w in
            w.key("version"); w.string(jobgateVersion)
            w.key("redis"); w.string(store.state)
            w.key("limits"); writeLimits(&w)
        }
    }

    func writeLimits(_ w: inout JSONWriter) {
        w.raw("{\"max_line\":"); w.int(config.session.maxLine)
        w.key("max_batch"); w.int(config.maxBatch)
        w.key("max_wait"); w.seconds(config.maxWait)
        w.key("max_lease_count"); w.int(config.maxLeaseCount)
        w.key("max_name_length"); w.int(Names.maxLength)
        w.key("max_error_text"); w.int(config.maxErrorText)
        w.key("max_json_depth"); w.int(JSONScanner.maxDepth)
        w.key("max_pipeline"); w.int(config.session.maxOutstanding)
        w.raw("}")
    }
}
