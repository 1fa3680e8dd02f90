"""The Microsoft identity platform endpoints of the local OneDrive server
(tests/fakes/onedrive_server.py): OAuth 2.0 authorization code flow with PKCE
(S256 only; the test user approves at once), the refresh_token grant (the refresh
token is ROTATED on every use and a used one is refused with invalid_grant) and
the device authorization grant (/devicecode; authorization_pending until a test
approves the user code through /_control/device/approve).
https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code
"""

import base64
import hashlib
import secrets
import urllib.parse


class MicrosoftIdentity:
    """Mixin for the request handler: needs st (State), send_json, send_empty,
    oauth_error, form and base."""

    def oauth(self, path, query):
        st = self.st
        if path.endswith("/oauth2/v2.0/authorize"):
            # The test user approves at once (no login page).
            if query.get("response_type") != "code" or not query.get("client_id"):
                return self.send_json(400, {"error": "invalid_request"})
            if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                return self.send_json(400, {"error": "invalid_request",
                                            "error_description": "PKCE S256 is required"})
            code = secrets.token_urlsafe(16)
            with st.lock:
                st.codes[code] = {"challenge": query["code_challenge"],
                                  "redirect_uri": query.get("redirect_uri", ""),
                                  "client_id": query["client_id"]}
            loc = query.get("redirect_uri", "") + "?" + urllib.parse.urlencode(
                {"code": code, "state": query.get("state", "")})
            return self.send_empty(302, {"Location": loc})
        if path.endswith("/oauth2/v2.0/devicecode"):
            f = self.form()
            if not f.get("client_id"):
                return self.oauth_error(400, "invalid_request", "AADSTS900144: client_id")
            dc, uc = secrets.token_urlsafe(24), secrets.token_hex(4).upper()
            with st.lock:
                st.devices[dc] = {"user_code": uc, "approved": False}
            return self.send_json(200, {
                "device_code": dc, "user_code": uc,
                "verification_uri": self.base() + "/devicelogin", "expires_in": 900,
                "interval": 1,
                "message": f"To sign in, open {self.base()}/devicelogin and enter {uc}."})
        if path.endswith("/oauth2/v2.0/token"):
            f = self.form()
            grant = f.get("grant_type")
            with st.lock:
                if grant == "authorization_code":
                    c = st.codes.pop(f.get("code", ""), None)
                    if c is None:
                        return self.oauth_error(400, "invalid_grant",
                                                "AADSTS70000: The code is invalid or was used.")
                    verifier = f.get("code_verifier", "")
                    want = base64.urlsafe_b64encode(
                        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                    if want != c["challenge"]:
                        return self.oauth_error(400, "invalid_grant",
                                                "AADSTS501481: The Code_Verifier does not "
                                                "match the code_challenge.")
                    if f.get("redirect_uri", "") != c["redirect_uri"]:
                        return self.oauth_error(400, "invalid_grant",
                                                "AADSTS50011: redirect_uri mismatch.")
                elif grant == "refresh_token":
                    rt = f.get("refresh_token", "")
                    if st.refresh_tokens.get(rt) != "live":
                        return self.oauth_error(400, "invalid_grant",
                                                "AADSTS70000: The provided grant is invalid or "
                                                "has already been used.")
                    st.refresh_tokens[rt] = "used"
                    st.stats["refreshes"] = st.stats.get("refreshes", 0) + 1
                elif grant == "urn:ietf:params:oauth:grant-type:device_code":
                    d = st.devices.get(f.get("device_code", ""))
                    if d is None:
                        return self.oauth_error(400, "expired_token", "AADSTS70020")
                    if not d["approved"]:
                        return self.oauth_error(400, "authorization_pending",
                                                "AADSTS70016: pending")
                    del st.devices[f["device_code"]]
                else:
                    return self.oauth_error(400, "unsupported_grant_type", "AADSTS70003")
                return self.send_json(200, {
                    "token_type": "Bearer", "scope": "Files.ReadWrite offline_access",
                    "expires_in": st.token_ttl, "access_token": st.issue_token(),
                    "refresh_token": st.issue_refresh()})
        self.send_json(404, {"error": "not_found"})

