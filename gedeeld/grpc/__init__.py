"""gRPC plumbing shared by the services: authentication, client certificates, the server, the RPC
wrapper, status mapping, paging, request fields."""
