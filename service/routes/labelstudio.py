"""Label Studio ML backend API (placeholder)."""

from fastapi import APIRouter

router = APIRouter(prefix="/labelstudio", tags=["label studio"])
