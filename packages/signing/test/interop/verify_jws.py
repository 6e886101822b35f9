"""Verify a compact JWS with jwcrypto. stdin: {"jws": str, "publicJwk": {...}}.
stdout: {"payload": base64url of the verified payload bytes, "header": protected header}."""
import base64
import json
import sys

from jwcrypto import jwk, jws

request = json.load(sys.stdin)
key = jwk.JWK(**request["publicJwk"])
token = jws.JWS()
token.deserialize(request["jws"], key, alg="EdDSA")
json.dump(
    {
        "payload": base64.urlsafe_b64encode(token.payload).rstrip(b"=").decode("ascii"),
        "header": token.jose_header,
    },
    sys.stdout,
)
