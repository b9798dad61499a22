import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Certificates for one TLS test, made with the `openssl` CLI in a temp dir: a CA, a gateway
/// certificate that CA signed for `serverNames`, and a second CA that signed nothing here.
final class TestCertificates: Sendable {
    let dir: String
    var caFile: String { dir + "/ca.pem" }
    var otherCAFile: String { dir + "/other-ca.pem" }
    var serverCertificate: String { dir + "/server.pem" }
    var serverKey: String { dir + "/server.key" }

    /// - Parameter serverNames: the gateway certificate's subjectAltName.
    init(serverNames: String = "IP:127.0.0.1,DNS:localhost") throws {
        var template = Array("/tmp/jgc-tls.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Spawn.Failure(description: "mkdtemp failed") }
        dir = String(cString: made)
        do {
            try makeCA(certificate: caFile, key: dir + "/ca.key", name: "jobgate test CA")
            try makeCA(certificate: otherCAFile, key: dir + "/other-ca.key", name: "jobgate other test CA")
            try openssl(["req", "-x509", "-CA", caFile, "-CAkey", dir + "/ca.key",
                         "-out", serverCertificate, "-keyout", serverKey, "-subj", "/CN=jobgate test gateway",
                         "-addext", "subjectAltName=" + serverNames,
                         "-addext", "basicConstraints=critical,CA:FALSE",
                         "-addext", "extendedKeyUsage=serverAuth"])
        } catch {
            remove()
            throw error
        }
    }

    private func makeCA(certificate: String, key: String, name: String) throws {
        try openssl(["req", "-x509", "-out", certificate, "-keyout", key, "-subj", "/CN=" + name])
    }

    /// `openssl ARGS` with a new P-256 key, unencrypted, valid for a day.
    private func openssl(_ args: [String]) throws {
        try Spawn.run(["openssl"] + args + ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                            "-noenc", "-days", "1"],
                      log: dir + "/openssl.log")
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: dir)
    }
}
