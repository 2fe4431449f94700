"""``POST /api/tracks/<id>/variations``: a new track on the plan of one of the owner's tracks.

The new track keeps its original's request (style, length, key, tempo, meter, energy,
instruments, primer) and plan, and writes anew what ``vary`` names; it links to its original.
"""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request
from pydantic import ValidationError

from .. import library
from ..pipeline import resolve_seed
from ..service import Refused, Unavailable
from ..track_files import variation_of
from .api import read_json_object
from .auth import authenticate, current_owner
from .errors import ApiError, refused, unavailable
from .schemas import GenerateRequest, describe_validation_errors
from .tracks import _track_id, service, track_body
from .variation_schema import VariationRequest

bp = Blueprint("variations", __name__)
bp.before_request(authenticate)


def _body() -> VariationRequest:
    """The optional JSON body: no body at all means every default."""
    empty = not request.content_length and "chunked" not in request.headers.get("Transfer-Encoding", "")
    data = {} if empty else read_json_object()
    try:
        return VariationRequest.model_validate(data)
    except ValidationError as exc:
        details = describe_validation_errors(exc, VariationRequest)
        raise ApiError(400, f"{details[0]['field']} {details[0]['message']}", details=details) from None


@bp.post("/api/tracks/<track_id>/variations")
def make_variation(track_id: str) -> tuple[Response, int, dict[str, str]]:
    """A variation of one of the owner's tracks; 201 with the new track, which links to its original."""
    svc = service()
    body = _body()
    original = library.get_track(svc.db, _track_id(track_id), owner=current_owner())
    if original is None:
        raise ApiError(404, "no such track")
    seed = resolve_seed(body.seed)
    asked = {k: v for k, v in original.request.items() if k != "stems"} | {"seed": seed}
    params = GenerateRequest.model_validate(asked)
    try:
        svc.admit(g.subject)
        info = svc.make_track(params, owner=current_owner(), request=asked, original=original.id,
                              variation=variation_of(original, seed=seed, vary=body.vary))
    except Refused as exc:
        raise refused(exc) from None
    except Unavailable as exc:
        raise unavailable(exc) from None
    reply = track_body(info)
    return jsonify(reply), 201, {"Location": reply["links"]["self"]}

