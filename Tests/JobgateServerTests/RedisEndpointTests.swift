import Testing
@testable import JobgateServer

@Suite struct RedisEndpointTests {
    @Test func plainURLs() throws {
        let tcp = try RedisEndpoint(url: "redis://10.0.0.5:6380/2")
        #expect(tcp.server == .tcp(HostPort(host: "10.0.0.5", port: 6380)) && tcp.db == 2)
        #expect(tcp.credentials == nil && tcp.tls == nil)
        #expect(try RedisEndpoint(url: "redis://db.internal").server == .tcp(HostPort(host: "db.internal", port: 6379)))
        #expect(try RedisEndpoint(url: "redis://[::1]:7000/0").server == .tcp(HostPort(host: "::1", port: 7000)))
        let unix = try RedisEndpoint(url: "unix:///run/redis.sock?db=3")
        #expect(unix.server == .unix(path: "/run/redis.sock") && unix.db == 3)
    }

    @Test func credentialsArePercentDecoded() throws {
        let acl = try RedisEndpoint(url: "redis://jobgate:p%40ss%3Aw%2Frd@h:1/0")
        #expect(acl.credentials == RedisCredentials(user: "jobgate", password: "p@ss:w/rd"))
        let classic = try RedisEndpoint(url: "rediss://:s3cret@h:6380/1")
        #expect(classic.credentials == RedisCredentials(user: nil, password: "s3cret") && classic.tls != nil)
        // An unescaped @ in the password: the host starts after the last one.
        #expect(try RedisEndpoint(url: "redis://:a@b@h:1").credentials?.password == "a@b")
        let userOnly = try RedisEndpoint(url: "redis://alice@h:1/0")
        #expect(userOnly.credentials == RedisCredentials(user: "alice", password: nil))
        #expect(try RedisEndpoint(url: "unix://:pw@/tmp/r.sock").credentials?.password == "pw")
    }

    @Test func sentinelURLs() throws {
        let s = try RedisEndpoint(url: "sentinels://:pw@a:26379,b/mymaster/4")
        #expect(s.server == .sentinel(nodes: [HostPort(host: "a", port: 26379), HostPort(host: "b", port: 26379)], master: "mymaster"))
        #expect(s.db == 4 && s.tls != nil && s.credentials?.password == "pw")
    }

    @Test func descriptionsMaskPasswords() throws {
        #expect(try RedisEndpoint(url: "redis://jobgate:hunter2@h:1/0").description == "redis://jobgate:***@h:1/0")
        #expect(try RedisEndpoint(url: "rediss://:hunter2@h:1/0").description == "rediss://:***@h:1/0")
        #expect(try RedisEndpoint(url: "sentinel://:hunter2@a:1,b:2/m").description == "sentinel://:***@a:1,b:2/m")
        #expect(try RedisEndpoint(url: "redis://alice@h:1/0").description == "redis://alice@h:1/0")
    }

    @Test(arguments: ["http://h", "redis://h:0", "redis://h:99999", "redis://h/x", "unix://relative",
                      "sentinel://a:1", "sentinel://a:1/", "redis://:bad%zz@h", "h:6379"])
    func badURLsAreRefused(_ url: String) {
        #expect(throws: RedisURLError.self) { try RedisEndpoint(url: url) }
    }

    @Test func loginErrorsNameTheFix() {
        #expect(RedisProblem(loginError: "WRONGPASS invalid username-password pair or user is disabled.").message.contains("WRONGPASS"))
        #expect(RedisProblem(loginError: "NOAUTH Authentication required.").kind == .refused)
        // A Redis still loading its data after a restart is not refusing anything: it is a wait.
        let loading = RedisProblem(loginError: "LOADING Redis is loading the dataset in memory")
        #expect(loading.kind == .unreachable && !loading.message.contains("refused"))
        #expect(RedisProblem(loginError: "ERR DB index is out of range").message.contains("no such database"))
    }
}
