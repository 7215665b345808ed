#!/usr/bin/env python3
"""The test stack's OpenID Connect token endpoint, for the brokers' OAUTHBEARER mechanism.

A stand-in for an identity provider (Keycloak, Okta, Entra ID) on loopback, with the standard
library and the openssl command only. It answers the OAuth 2.0 client-credentials grant
(RFC 6749 section 4.4) that librdkafka's `sasl.oauthbearer.method=oidc` sends, with an RS256 JWT
that the brokers validate against the stack's JWKS file (`sasl.oauthbearer.jwks.endpoint.url`).

  oidc_token.py init DIR          make DIR/signing.key, DIR/foreign.key and DIR/jwks.json (once)
  oidc_token.py serve DIR PORT    answer POST /token on 127.0.0.1:PORT

Clients (test fixtures of the local stack, never real secrets), all with the secret
`pipetop-oidc-secret`, sent as HTTP Basic auth or as form fields:
  pipetop          a token for subject `pipetop`, valid for an hour
  pipetop-expired  a token for `pipetop` that expired an hour ago (an IdP whose clock is wrong)
  pipetop-foreign  a token for `pipetop` signed with a key the JWKS does not hold
Any other client or secret gets 401 {"error": "invalid_client"}.
"""

import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "pipetop-oidc-secret"
AUDIENCE = "pipetop-stack"
KEY_ID = "pipetop-stack-1"
# client -> (subject, lifetime in seconds from now, key file)
CLIENTS = {
    "pipetop": ("pipetop", 3600, "signing.key"),
    "pipetop-expired": ("pipetop", -3600, "signing.key"),
    "pipetop-foreign": ("pipetop", 3600, "foreign.key"),
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def openssl(*args: str, data: bytes = b"") -> bytes:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def init(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for name in ("signing.key", "foreign.key"):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
            os.chmod(path, 0o600)
    modulus = openssl("rsa", "-in", os.path.join(directory, "signing.key"), "-noout", "-modulus")
    n = bytes.fromhex(modulus.decode("ascii").strip().split("=", 1)[1])
    jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KEY_ID, "n": b64url(n), "e": "AQAB"}
    tmp = os.path.join(directory, "jwks.json.tmp")
    with open(tmp, "w", encoding="ascii") as f:
        json.dump({"keys": [jwk]}, f)
    os.replace(tmp, os.path.join(directory, "jwks.json"))


def token(directory: str, issuer: str, client: str, scope: str) -> tuple[str, int]:
    subject, lifetime, key = CLIENTS[client]
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": AUDIENCE,
        "azp": client,
        "iat": min(now, now + lifetime - 60),
        "exp": now + lifetime,
    }
    if scope:
        claims["scope"] = scope
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = openssl("dgst", "-sha256", "-sign", os.path.join(directory, key),
                        data=signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}", lifetime


def handler_for(directory: str, issuer: str):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # to stderr, which `up` sends to logs/oidc.log
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

        def answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/ping":
                self.answer(200, {"ok": True})
            else:
                self.answer(404, {"error": "not_found"})

        def do_POST(self):
            if self.path.split("?", 1)[0] != "/token":
                self.answer(404, {"error": "not_found"})
                return
            length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            field = lambda k: (form.get(k) or [""])[0]
            client, secret = field("client_id"), field("client_secret")
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("basic "):
                try:
                    pair = base64.b64decode(auth[6:].strip()).decode("utf-8")
                    client, secret = (urllib.parse.unquote(p) for p in pair.split(":", 1))
                except (ValueError, UnicodeDecodeError):
                    client, secret = "", ""
            if field("grant_type") != "client_credentials":
                self.answer(400, {"error": "unsupported_grant_type"})
                return
            if client not in CLIENTS or secret != SECRET:
                self.answer(401, {"error": "invalid_client",
                                  "error_description": "unknown client or wrong secret"})
                return
            jwt, lifetime = token(directory, issuer, client, field("scope"))
            self.answer(200, {"access_token": jwt, "token_type": "Bearer",
                              "expires_in": max(lifetime, 0)})

    return Handler


def serve(directory: str, port: int) -> None:
    issuer = f"http://127.0.0.1:{port}"
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(directory, issuer))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "init":
        init(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
