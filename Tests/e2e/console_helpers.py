"""Plain HTTP requests to the web console, as a browser or an attacker would send them."""
import http.client
import json
import re


class ConsoleHTTP:
    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, headers=None):
        headers = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.headers, r.read().decode()
        finally:
            conn.close()

    def login(self, token=None):
        """A login cookie and the CSRF token of its page: from the page itself, or from the
        login form when the gateway has a token."""
        if token is not None:
            status, headers, _ = self.request("POST", "/login", f"token={token}",
                                              {"Content-Type": "application/x-www-form-urlencoded"})
            assert status == 303, status
            cookie = headers["Set-Cookie"].split(";")[0]
            status, headers, page = self.request("GET", "/", headers={"Cookie": cookie})
        else:
            status, headers, page = self.request("GET", "/")
            cookie = headers["Set-Cookie"].split(";")[0]
        assert status == 200
        return cookie, re.search(r'name="csrf-token" content="([0-9a-f]+)"', page).group(1)

    def op(self, request, cookie=None, csrf=None, headers=None):
        h = dict(headers or {})
        if cookie:
            h["Cookie"] = cookie
        if csrf:
            h["X-CSRF-Token"] = csrf
        h.setdefault("Content-Type", "application/json")
        status, _, body = self.request("POST", "/api/op", json.dumps(request), h)
        return status, json.loads(body)

    def get_json(self, path, cookie=None):
        status, _, body = self.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        return status, json.loads(body)
