/// The console's HTML pages and the headers that keep them to themselves. The page is static;
/// the script (ConsoleScript.swift) fills it from the JSON API.
enum ConsoleAssets {
    /// Only the console's own script and style run; no page may frame it; nothing is cached. The
    /// referrer policy is not no-referrer: that makes a form's Origin "null", which is refused.
    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            + "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Cache-Control", "no-store"),
    ]

    static let script = HTTPResponse(contentType: "text/javascript; charset=utf-8", body: Array(consoleScript.utf8))
    static let style = HTTPResponse(contentType: "text/css; charset=utf-8", body: Array(consoleStyle.utf8))

    /// The CSRF token is hex, so it goes into the page as it is.
    static func page(csrfToken: String, readOnly: Bool, withLogout: Bool) -> HTTPResponse {
        html("""
            <meta name="csrf-token" content="\(csrfToken)">
            <meta name="read-only" content="\(readOnly)">
            <script src="/console.js" defer></script>
            </head>
            <body>
            <header>
              <a href="#/" class="brand">jobgate</a>
              <span id="gateway"></span>
              \(readOnly ? "<span class=\"badge\">read-only</span>" : "")
              <span id="updated" class="muted"></span>
              \(withLogout ? "<form method=\"post\" action=\"/logout\"><button type=\"submit\" class=\"link\">log out</button></form>" : "")
            </header>
            <div id="message" role="status"></div>
            <main id="main"><p class="muted">Loading…</p></main>
            </body>
            </html>
            """)
    }

    static func loginPage(problem: String?) -> HTTPResponse {
        html("""
            </head>
            <body class="login">
            <form method="post" action="/login">
              <h1>jobgate</h1>
              <label for="token">The gateway's token</label>
              <input type="password" id="token" name="token" autocomplete="current-password" autofocus required>
              \(problem.map { "<p class=\"error\">\($0)</p>" } ?? "")
              <button type="submit">Log in</button>
            </form>
            </body>
            </html>
            """)
    }

    private static func html(_ rest: String) -> HTTPResponse {
        let head = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>jobgate console</title>
            <link rel="stylesheet" href="/console.css">
            <link rel="icon" href="data:,">

            """
        return HTTPResponse(contentType: "text/html; charset=utf-8", body: Array((head + rest).utf8))
    }
}
