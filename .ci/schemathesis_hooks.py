"""Schemathesis hooks for auth-server: every authenticated call gets the access token of a fresh
session, so a call that ends sessions (logout, a password change, a revoked session) never spoils
the calls after it."""

import json
import os
import urllib.request
import uuid

import schemathesis

BASE_URL = os.environ["AUTH_SCHEMATHESIS_URL"].rstrip("/")
USERNAME = f"schemathesis-{uuid.uuid4().hex[:12]}"
PASSWORD = "schemathesis-correct-horse-9"


def _post(path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{BASE_URL}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


_post(
    "/api/auth/register",
    {
        "username": USERNAME,
        "email": f"{USERNAME}@example.com",
        "password": PASSWORD,
        "password2": PASSWORD,
        "first_name": "Schema",
        "last_name": "Thesis",
    },
)


@schemathesis.auth(refresh_interval=None)
class FreshSession:
    def get(self, case, ctx):
        return _post("/api/auth/login", {"username": USERNAME, "password": PASSWORD})["access"]

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
