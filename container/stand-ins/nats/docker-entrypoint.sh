#!/bin/sh
# As in the upstream image: no arguments, or a first argument that is a flag, run the server.
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- nats-server "$@"
fi
exec "$@"
