-- wrk script for scripts/bench-token-server: the same token request for every server.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"room_name":"bench-room","participant_identity":"bench-user","participant_name":"Bench"}'
