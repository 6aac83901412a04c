"""For callers of APIs behind these authorizers: minting the credentials they expect.

:func:`sts_token` makes the credential of the SigV4 ``sts`` mode
(:mod:`authorizers.sigv4.sts`)::

    import boto3
    from authorizers.clients import sts_token

    token = sts_token("orders-api", session=boto3.Session(), region="eu-west-1")
    requests.get(url, headers={"Authorization": f"AWS-STS {token}"})

botocore is imported on the first call, so importing this module costs nothing.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol


class CredentialSource(Protocol):
    """A boto3 ``Session`` or a botocore ``Session``: anything with ``get_credentials()``."""

    def get_credentials(self) -> Any: ...


def sts_token(
    audience: str,
    *,
    session: CredentialSource | None = None,
    region: str | None = None,
    expires_in: int = 900,
) -> str:
    """A presigned ``sts:GetCallerIdentity`` URL bound to ``audience``, base64url-encoded.

    The URL is signed (SigV4, query parameters) with the session's credentials, which
    never leave this process, and signs the header ``x-authorizer-audience: <audience>``
    as well: the authorizer sends its own audience in that header, so the URL proves
    nothing to an API with another audience. Anyone holding the token can use it against
    this audience until it expires: send it only over TLS, to that API.

    ``session`` defaults to botocore's default session (environment, profile, instance
    role). ``region=None`` signs for the global endpoint ``sts.amazonaws.com``; a region
    for its regional endpoint (``sts.{region}.amazonaws.com``, ``.amazonaws.com.cn`` in
    China), which the authorizer must accept (``StsConfig.regions``). ``expires_in`` is
    1 to 900 seconds, at most the authorizer's ``max_expires_seconds``.

    Returns the text to put after ``AWS-STS`` in the Authorization header. Raises
    ValueError for a bad argument and botocore's NoCredentialsError without credentials.
    """
    from authorizers.errors import ConfigurationError
    from authorizers.sigv4.sts import (
        BINDING_HEADER,
        MAX_EXPIRES_SECONDS,
        STS_ACTION,
        STS_VERSION,
        check_audience,
        sts_endpoint,
    )

    try:
        check_audience(audience, "audience")
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from None
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 1 <= expires_in <= MAX_EXPIRES_SECONDS:
        raise ValueError(f"expires_in must be a whole number of seconds from 1 to {MAX_EXPIRES_SECONDS}")
    host, signing_region = sts_endpoint(region)

    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.exceptions import NoCredentialsError

    if session is None:
        import botocore.session

        session = botocore.session.get_session()
    credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    frozen = credentials.get_frozen_credentials()  # one consistent key, secret and token
    request = AWSRequest(
        method="GET",
        url=f"https://{host}/",
        params={"Action": STS_ACTION, "Version": STS_VERSION},
        headers={BINDING_HEADER: audience},
    )
    SigV4QueryAuth(frozen, "sts", signing_region, expires=expires_in).add_auth(request)
    url = request.url
    if url is None:  # botocore always sets it; for the type checker
        raise ValueError("botocore did not produce a presigned URL")
    return base64.urlsafe_b64encode(url.encode("ascii")).rstrip(b"=").decode("ascii")


__all__ = ["CredentialSource", "sts_token"]
