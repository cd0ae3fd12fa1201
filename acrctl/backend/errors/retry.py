"""429 Throttled and 503 Unavailable (answered with Retry-After): one class per ARM code."""

from __future__ import annotations

from acrctl.backend.errors.families import CodedError, Throttled, Unavailable

# 429 Throttled: one class per ARM code


class ResourceRequestsThrottled(CodedError, Throttled):
    code = "ResourceRequestsThrottled"


class SubscriptionRequestsThrottled(CodedError, Throttled):
    code = "SubscriptionRequestsThrottled"


class TenantRequestsThrottled(CodedError, Throttled):
    code = "TenantRequestsThrottled"


class TooManyImports(CodedError, Throttled):
    code = "TooManyImports"


class TooManyRequests(CodedError, Throttled):
    code = "TooManyRequests"


# 503 Unavailable: one class per ARM code


class DatabaseBusy(CodedError, Unavailable):
    code = "DatabaseBusy"


class DatabaseUnavailable(CodedError, Unavailable):
    code = "DatabaseUnavailable"


class RegionUnavailable(CodedError, Unavailable):
    code = "RegionUnavailable"
