"""Builds a Django database shaped like the original system, with real Django and simplejwt.

    python fixture.py --database sqlite:///path/django.sqlite3 --secret-key KEY [--collisions]
    python fixture.py --database postgres://user@host:port/name --secret-key KEY
    python fixture.py --database sqlite:///path/big.sqlite3 --secret-key KEY --bulk 100000

Prints, as JSON on stdout, what it made: every user with its password and hasher, and refresh
and access tokens minted by simplejwt. With --bulk N it makes N users with profiles and 2N
outstanding tokens (a tenth of them blacklisted) for the import benchmark, quickly: one hash
for everyone, rows written with bulk_create.
"""

import argparse
import hashlib
import json
import os
import sys
import uuid
from datetime import timedelta, timezone
from urllib.parse import unquote, urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]


def database_settings(url):
    if url.startswith("sqlite:///"):
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url[len("sqlite://"):]}
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"unsupported database URL: {parsed.scheme}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parsed.path.lstrip("/"),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
    }


def configure(url, secret_key):
    from django.conf import settings

    settings.configure(
        SECRET_KEY=secret_key,
        USE_TZ=True,
        TIME_ZONE="UTC",
        DATABASES={"default": database_settings(url)},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "rest_framework_simplejwt.token_blacklist",
            "accounts",
        ],
        PASSWORD_HASHERS=PASSWORD_HASHERS,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        SIMPLE_JWT={
            "ALGORITHM": "HS256",
            "SIGNING_KEY": secret_key,
            "ACCESS_TOKEN_LIFETIME": timedelta(minutes=60),
            "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
            "USER_ID_FIELD": "id",
            "USER_ID_CLAIM": "user_id",
        },
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def iso(moment):
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def legacy(kind, password):
    """The hashes of Django's removed legacy hashers, as Django 4.2 wrote them."""
    raw = password.encode()
    if kind == "unsalted_md5":
        return hashlib.md5(raw).hexdigest()
    if kind == "unsalted_md5_prefixed":
        return "md5$$" + hashlib.md5(raw).hexdigest()
    if kind == "sha1":
        salt = "Qm9sdFNhbHQ"
        return f"sha1${salt}$" + hashlib.sha1(salt.encode() + raw).hexdigest()
    if kind == "unsalted_sha1":
        return "sha1$$" + hashlib.sha1(raw).hexdigest()
    raise ValueError(kind)


def make_users(collisions):
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.utils import timezone as dj_timezone

    from accounts.models import Profile

    now = dj_timezone.now()
    # (username, email, hasher, profile phone or None for no profile, flags)
    plan = [
        ("alice", "alice@example.com", "pbkdf2_sha256", "+15550001", {}),
        ("bob", "bob@example.com", "pbkdf2_sha1", "", {}),
        ("carol", "carol@example.com", "argon2", "+15550003", {}),
        ("dave", "dave@example.com", "bcrypt_sha256", "", {}),
        ("erin", "erin@example.com", "bcrypt", "", {}),
        ("frank", "frank@example.com", "scrypt", "", {}),
        ("grace", "grace@example.com", "md5", "", {}),
        ("heidi", "heidi@example.com", "unsalted_md5", None, {}),
        ("ivan", "ivan@example.com", "sha1", None, {}),
        ("judy", "judy@example.com", "unsalted_sha1", None, {}),
        ("ken", "ken@example.com", "unsalted_md5_prefixed", None, {}),
        ("mallory", "mallory@example.com", "unusable", "", {}),
        ("noemail", "", "pbkdf2_sha256", None, {}),
        ("noemail2", "", "pbkdf2_sha256", None, {}),
        ("admin", "admin@example.com", "pbkdf2_sha256", "", {"is_staff": True, "is_superuser": True}),
        ("olivia", "olivia@example.com", "pbkdf2_sha256", "", {"is_active": False}),
    ]
    if collisions:
        plan += [
            ("zed", "ALICE@example.com", "pbkdf2_sha256", "+15550099", {}),
            ("zoe", "Bob@Example.com", "pbkdf2_sha256", None, {}),
        ]
    made = []
    for index, (username, email, hasher, phone, flags) in enumerate(plan):
        password = f"pw-{username}-Grüße-{index}"
        user = User(
            username=username,
            email=email,
            first_name=username.title(),
            last_name="Tester",
            date_joined=now - timedelta(days=30 - index, microseconds=123457 * index),
            last_login=(now - timedelta(hours=index)) if index % 2 == 0 else None,
            **flags,
        )
        if hasher == "unusable":
            user.set_unusable_password()
        elif hasher in ("unsalted_md5", "unsalted_md5_prefixed", "sha1", "unsalted_sha1"):
            user.password = legacy(hasher, password)
        else:
            user.password = make_password(password, hasher=hasher)
        user.save()
        if phone is not None:
            Profile.objects.create(user=user, phone=phone)
        made.append(
            {
                "id": user.id,
                "username": username,
                "email": email,
                "password": password,
                "hasher": hasher,
                "stored_hash": user.password,
                "is_active": user.is_active,
                "date_joined": iso(user.date_joined),
                "last_login": iso(user.last_login),
                "has_profile": phone is not None,
                "phone": phone,
            }
        )
    # Profiles' times as Django stored them (auto_now_add: the time of the insert).
    for entry in made:
        profile = Profile.objects.filter(user_id=entry["id"]).first()
        entry["profile_id"] = profile.id if profile else None
        entry["profile_created_at"] = iso(profile.created_at) if profile else None
        entry["profile_updated_at"] = iso(profile.updated_at) if profile else None
    return made


def make_tokens(users):
    from django.contrib.auth.models import User
    from django.utils import timezone as dj_timezone
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    alice = User.objects.get(username="alice")
    live = RefreshToken.for_user(alice)
    blacklisted = RefreshToken.for_user(alice)
    blacklisted.blacklist()
    bob = RefreshToken.for_user(User.objects.get(username="bob"))
    now = dj_timezone.now()
    # Expired, and one whose user is gone: neither is worth importing.
    OutstandingToken.objects.create(
        user=alice, jti=uuid.uuid4().hex, token="expired", created_at=now - timedelta(days=3),
        expires_at=now - timedelta(days=2),
    )
    OutstandingToken.objects.create(
        user=None, jti=uuid.uuid4().hex, token="orphan", created_at=now, expires_at=now + timedelta(days=1),
    )
    tokens = {
        "refresh": str(live),
        "refresh_jti": live["jti"],
        "access": str(live.access_token),
        "refresh_blacklisted": str(blacklisted),
        "refresh_bob": str(bob),
    }
    by_name = {user["username"]: user for user in users}
    if "zed" in by_name:
        tokens["refresh_zed"] = str(RefreshToken.for_user(User.objects.get(username="zed")))
    return tokens


def bulk(count):
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.utils import timezone as dj_timezone
    from rest_framework_simplejwt.token_blacklist.models import (
        BlacklistedToken,
        OutstandingToken,
    )

    from accounts.models import Profile

    now = dj_timezone.now()
    password = make_password("bulk-password")
    batch = 5000
    for start in range(0, count, batch):
        ids = range(start + 1, min(start + batch, count) + 1)
        User.objects.bulk_create(
            [
                User(
                    id=i, username=f"user{i}", email=f"user{i}@example.com", password=password,
                    first_name="Bulk", last_name=f"User {i}", date_joined=now - timedelta(seconds=i),
                )
                for i in ids
            ]
        )
        Profile.objects.bulk_create(
            [Profile(user_id=i, phone=f"+1555{i:07d}") for i in ids]
        )
        tokens = OutstandingToken.objects.bulk_create(
            [
                OutstandingToken(
                    user_id=i, jti=uuid.uuid4().hex, token="bulk", created_at=now,
                    expires_at=now + timedelta(days=1),
                )
                for i in ids
                for _ in range(2)
            ]
        )
        BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in tokens[::10]]
        )
    return {"users": count, "tokens": 2 * count}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--collisions", action="store_true")
    parser.add_argument("--bulk", type=int, default=0)
    args = parser.parse_args()
    configure(args.database, args.secret_key)
    if args.bulk:
        json.dump(bulk(args.bulk), sys.stdout)
        return
    users = make_users(args.collisions)
    tokens = make_tokens(users)
    json.dump({"users": users, "tokens": tokens}, sys.stdout)


if __name__ == "__main__":
    main()
