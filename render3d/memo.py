"""A bounded cache for functions of arrays that come back as the same objects (a loaded mask's geometry
and binding, which the mask library caches), keyed by the arguments' identity."""
from __future__ import annotations

from collections import OrderedDict
from functools import wraps
from typing import Callable, TypeVar

Result = TypeVar("Result")


def same_objects_cache(maxsize: int) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Cache a function's results by the identity of its positional arguments, the `maxsize` most recently
    used kept. Each entry holds its arguments, so that no id is reused while it is cached; the arguments
    must not change in place, and callers must not change the (shared) results."""
    def decorate(function: Callable[..., Result]) -> Callable[..., Result]:
        entries: OrderedDict[tuple[int, ...], tuple[tuple, Result]] = OrderedDict()

        @wraps(function)
        def cached(*args) -> Result:
            key = tuple(map(id, args))
            if key in entries:
                entries.move_to_end(key)
                return entries[key][1]
            result = function(*args)
            entries[key] = (args, result)
            if len(entries) > maxsize:
                entries.popitem(last=False)
            return result

        cached.cache_clear = entries.clear
        return cached
    return decorate
