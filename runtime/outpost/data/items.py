"""Conversion between domain models and DynamoDB items (low-level client format)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pydantic import BaseModel

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

ModelT = TypeVar("ModelT", bound=BaseModel)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, "AttributeValueTypeDef"]


def to_item(model: BaseModel, **key_attributes: str | int) -> Item:
    """A model as an item; ``key_attributes`` adds storage-only keys (sort keys, index keys)."""
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    data.update(key_attributes)
    return {name: _serializer.serialize(value) for name, value in data.items()}


def to_attribute(value: str | int) -> AttributeValueTypeDef:
    serialized: AttributeValueTypeDef = _serializer.serialize(value)
    return serialized


def from_item(model: type[ModelT], item: Mapping[str, Any]) -> ModelT:
    """The model an item holds; storage-only attributes the model does not know are left out."""
    fields = model.model_fields
    data = {
        name: _deserializer.deserialize(value) for name, value in item.items() if name in fields
    }
    return model.model_validate(data)
