"""Sign bytes as a compact EdDSA JWS with jwcrypto.
stdin: {"privateJwk": {...}, "payload": base64url bytes, "protected": JSON text of the header}.
stdout: the compact JWS."""
import base64
import json
import sys

from jwcrypto import jwk, jws

request = json.load(sys.stdin)
key = jwk.JWK(**request["privateJwk"])
encoded = request["payload"]
payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
token = jws.JWS(payload)
token.add_signature(key, alg="EdDSA", protected=request["protected"])
sys.stdout.write(token.serialize(compact=True))
