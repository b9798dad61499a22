@preconcurrency import COpenSSL
@preconcurrency import Glibc

public struct TLSError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Certificates and settings shared by many TLS connections (an OpenSSL `SSL_CTX`). TLS 1.2 is
/// the oldest version offered either way.
public final class TLSContext {
    let ctx: OpaquePointer
    let isServer: Bool

    private init(server: Bool) throws(TLSError) {
        guard let ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError("cannot create a TLS context: \(openSSLErrors())")
        }
        self.ctx = ctx
        isServer = server
        jg_ssl_ctx_set_min_tls12(ctx)
        jg_ssl_ctx_release_buffers(ctx)
    }

    deinit { SSL_CTX_free(ctx) }

    /// A listener's context: its certificate chain and private key (PEM files).
    public static func server(certificateFile: String, keyFile: String) throws(TLSError) -> TLSContext {
        let context = try TLSContext(server: true)
        try context.useCertificate(certificateFile, keyFile)
        return context
    }

    /// A client's context: it trusts `caFile` (else the system's store) and verifies the server;
    /// `certificateFile`/`keyFile` identify the client to servers that ask (mutual TLS).
    public static func client(caFile: String?, certificateFile: String?, keyFile: String?) throws(TLSError) -> TLSContext {
        let context = try TLSContext(server: false)
        if let caFile {
            guard SSL_CTX_load_verify_locations(context.ctx, caFile, nil) == 1 else {
                throw TLSError("cannot load CA file \(caFile): \(openSSLErrors())")
            }
        } else if SSL_CTX_set_default_verify_paths(context.ctx) != 1 {
            throw TLSError("cannot load the system's CA certificates: \(openSSLErrors())")
        }
        SSL_CTX_set_verify(context.ctx, SSL_VERIFY_PEER, nil)
        if let certificateFile {
            try context.useCertificate(certificateFile, keyFile ?? certificateFile)
        }
        return context
    }

    private func useCertificate(_ certificateFile: String, _ keyFile: String) throws(TLSError) {
        guard SSL_CTX_use_certificate_chain_file(ctx, certificateFile) == 1 else {
            throw TLSError("cannot load certificate \(certificateFile): \(openSSLErrors())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError("cannot load private key \(keyFile): \(openSSLErrors())")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError("private key \(keyFile) does not match certificate \(certificateFile)")
        }
    }
}

/// One TLS session over memory buffers: the caller moves ciphertext between the socket and
/// this object, so TLS runs on the loop like any other stream, with the same read and write
/// paths as plain TCP.
final class TLSChannel {
    private let ssl: OpaquePointer
    private let incoming: OpaquePointer
    private let outgoing: OpaquePointer
    private(set) var isEstablished = false
    /// Plaintext written before the handshake finished.
    private var early: [UInt8] = []
    var onEstablished: (() -> Void)?

    /// `peerName` (clients only) is the name or IP address the server's certificate must carry;
    /// a name is also sent as SNI.
    init(context: TLSContext, peerName: String? = nil) throws(TLSError) {
        guard let ssl = SSL_new(context.ctx), let incoming = BIO_new(BIO_s_mem()), let outgoing = BIO_new(BIO_s_mem()) else {
            throw TLSError("cannot start TLS: \(openSSLErrors())")
        }
        self.ssl = ssl
        self.incoming = incoming
        self.outgoing = outgoing
        SSL_set_bio(ssl, incoming, outgoing)  // ssl owns both from here
        if context.isServer {
            SSL_set_accept_state(ssl)
            return
        }
        SSL_set_connect_state(ssl)
        if let peerName {
            if isIPAddress(peerName) {
                X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), peerName)
            } else {
                SSL_set1_host(ssl, peerName)
                jg_ssl_set_sni(ssl, peerName)
            }
        }
    }

    deinit { SSL_free(ssl) }

    /// Starts a client's handshake (its first message waits in `takeOutput`).
    func start() throws(TLSError) { try advanceHandshake() }

    /// Takes ciphertext from the peer and hands on the plaintext it holds. Returns false once
    /// the peer has closed its side of the TLS session (close_notify).
    func receive(_ bytes: UnsafeRawBufferPointer, plaintext: (UnsafeRawBufferPointer) -> Void) throws(TLSError) -> Bool {
        if bytes.count > 0 { BIO_write(incoming, bytes.baseAddress, Int32(bytes.count)) }
        if !isEstablished {
            try advanceHandshake()
            guard isEstablished else { return true }
        }
        let buffer = TLSChannel.plaintextBuffer
        while true {
            let n = SSL_read(ssl, buffer, Int32(TLSChannel.plaintextBufferSize))
            if n > 0 {
                plaintext(UnsafeRawBufferPointer(start: buffer, count: Int(n)))
                continue
            }
            switch SSL_get_error(ssl, n) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return true
            case SSL_ERROR_ZERO_RETURN: return false
            default: throw TLSError("TLS error: \(openSSLErrors())")
            }
        }
    }

    /// Encrypts `bytes` for the peer (held back until the handshake is done).
    func send(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        guard isEstablished else {
            early.append(contentsOf: bytes)
            return
        }
        guard bytes.count > 0 else { return }
        // A memory buffer takes every byte, so one SSL_write either writes all or fails.
        guard SSL_write(ssl, bytes.baseAddress, Int32(bytes.count)) > 0 else {
            throw TLSError("TLS write failed: \(openSSLErrors())")
        }
    }

    /// Tells the peer this side is done (close_notify).
    func shutdown() { SSL_shutdown(ssl) }

    /// Moves the ciphertext waiting for the peer to the end of `output`.
    func takeOutput(into output: inout [UInt8]) {
        let pending = Int(BIO_ctrl_pending(outgoing))
        guard pending > 0 else { return }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: pending))
        let n = output.withUnsafeMutableBytes { BIO_read(outgoing, $0.baseAddress! + start, Int32(pending)) }
        output.removeLast(pending - max(Int(n), 0))
    }

    private func advanceHandshake() throws(TLSError) {
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            isEstablished = true
            if !early.isEmpty {
                let held = early
                early = []
                let written = held.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
                guard written > 0 else { throw TLSError("TLS write failed: \(openSSLErrors())") }
            }
            onEstablished?()
            return
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return
        default:
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                throw TLSError("TLS handshake failed: certificate verify failed: \(String(cString: X509_verify_cert_error_string(verify)))")
            }
            throw TLSError("TLS handshake failed: \(openSSLErrors())")
        }
    }

    private static let plaintextBufferSize = 16 * 1024
    nonisolated(unsafe) private static let plaintextBuffer = UnsafeMutableRawPointer.allocate(byteCount: plaintextBufferSize, alignment: 16)
}

/// OpenSSL's queued error messages, oldest first; the queue is left empty.
func openSSLErrors() -> String {
    var messages: [String] = []
    var buffer = [CChar](repeating: 0, count: 256)
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        ERR_error_string_n(code, &buffer, buffer.count)
        messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return messages.isEmpty ? "unknown error (the peer may have closed the connection)" : messages.joined(separator: "; ")
}

func isIPAddress(_ text: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
}
