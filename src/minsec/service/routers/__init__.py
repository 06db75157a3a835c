"""The REST API's routers, one module per part of the API, each with a module-level ``router``
(composed into the application by :mod:`minsec.server`); ``common`` holds what several of them use."""
