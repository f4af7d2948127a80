#!/bin/sh
# Run a command for ThreadSanitizer builds. TSan of GCC 12 maps its shadow memory
# at fixed addresses and dies ("unexpected memory mapping") on kernels that
# randomise more than 28 bits of mmap addresses; there the command runs with
# address-space randomisation turned off for it and its children.
bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)
if [ "$bits" -gt 28 ] && command -v setarch >/dev/null 2>&1; then
    exec setarch "$(uname -m)" -R "$@"
fi
exec "$@"
