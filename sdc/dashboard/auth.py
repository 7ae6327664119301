"""Who may look: an archive token typed into a login form, kept in an HttpOnly cookie."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from eas.api.tokens import Principal, TokenCache, look_up
from sdc.dashboard.pages import render

COOKIE = "sdc_dashboard_token"
router = APIRouter()


class LoginRequired(Exception):
    """The request carries no live token; the handler sends the browser to the login form."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


async def principal_of(request: Request, secret: str) -> Principal | None:
    """The archive's principal for `secret` (cached like the API's), or None."""
    cache: TokenCache = request.app.state.token_cache
    principal = cache.get(secret)
    if principal is None:
        principal = await run_in_threadpool(look_up, request.app.state.sessions, secret)
        if principal is not None:
            cache.put(secret, principal)
    return principal


async def _viewer(request: Request) -> Principal:
    # Every role may read; the archive's tokens are the only accounts there are.
    secret = request.cookies.get(COOKIE)
    principal = await principal_of(request, secret) if secret else None
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return principal


Viewer = Annotated[Principal, Depends(_viewer)]


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this server only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def login_redirect(_request: Request, exc: Exception) -> Response:
    """Exception handler: send a visitor without a token to the login form."""
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/login?next={quote(exc.path, safe='/')}", status_code=303)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form."""
    return render(request, "login.html", {"next": safe_next(next), "message": None})


@router.post("/login", include_in_schema=False)
async def login(
    request: Request, token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    """Check the token against the archive; set the cookie, or show the form again."""
    secret = token.strip()
    principal = await principal_of(request, secret) if secret else None
    if principal is None:
        message = (
            "unknown or revoked token: paste one from sdc archive token create --role reader"
            if secret
            else "enter an archive token"
        )
        context = {"next": safe_next(next), "message": message}
        return render(request, "login.html", context, status=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    # Secure whenever the page itself came over HTTPS (behind a TLS proxy that says so);
    # plain HTTP on loopback, as `sdc demo` serves it, must still work.
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, secret, httponly=True, samesite="strict", secure=secure, path="/")
    return response


@router.post("/logout", include_in_schema=False)
async def logout() -> Response:
    """Forget the token."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
