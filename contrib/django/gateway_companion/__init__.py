"""Django companion of edge-axes-gateway: reports every password check to the gateway and refuses
requests that did not come through it."""

__version__ = "0.1.0"

#: The response header that carries the origin's verdict on the password checks of a request.
LOGIN_RESULT_HEADER = "X-Login-Result"
