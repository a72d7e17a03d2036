"""The one table from domain failures to HTTP statuses (service.errors.STATUS), and its handler."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

import training
from service.errors import STATUS, ApiError, LabelsRejected, TooManySentences, install_error_handlers, status_of
from training import ActivationConflict, BundleError, HaltungError, InvalidVersion, NoCurrentModel, VersionNotFound


def test_every_exception_of_the_library_has_a_status() -> None:
    exported = [getattr(training, name) for name in training.__all__]
    library = {obj for obj in exported if isinstance(obj, type) and issubclass(obj, HaltungError)}
    assert library - set(STATUS) == {HaltungError}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (InvalidVersion("x"), (422, "invalid_version")),
        (VersionNotFound("x"), (404, "version_not_found")),
        (NoCurrentModel("x"), (409, "no_model")),
        (BundleError("x"), (409, "model_refused")),
        (ActivationConflict("x", expected="a", actual="b"), (409, "activation_conflict")),
        (TooManySentences(6, 5), (413, "too_many_sentences")),
        (ApiError(418, "teapot", "x"), (418, "teapot")),
    ],
)
def test_the_most_specific_class_decides(error: HaltungError, expected: tuple[int, str]) -> None:
    assert status_of(error) == expected


def test_an_unmapped_domain_error_is_a_logged_500() -> None:
    class Unmapped(HaltungError):
        pass

    assert status_of(Unmapped("x")) == (500, "internal_error")


async def test_the_handler_writes_the_one_error_shape() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/rejected")
    async def rejected() -> None:
        raise LabelsRejected([{"row": 0, "errors": ["empty 'text'"]}])

    @app.get("/unmapped")
    async def unmapped() -> None:
        raise type("Unmapped", (HaltungError,), {})("secret detail")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/rejected")
        assert response.status_code == 422
        assert response.json() == {
            "error": {
                "code": "invalid_labels",
                "message": "1 row(s) are invalid; nothing was stored.",
                "details": [{"row": 0, "errors": ["empty 'text'"]}],
            }
        }
        hidden = await client.get("/unmapped")
        assert hidden.status_code == 500 and "secret" not in hidden.text
