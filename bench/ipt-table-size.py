#!/usr/bin/env python3
# The size of iptables-legacy tables in the running kernel (network namespace): the sum of num_entries and
# size of struct ipt_getinfo (IPT_SO_GET_INFO) over the tables named. Root. Prints "ENTRIES BYTES".
import ctypes, socket, struct, sys
# struct ipt_getinfo: char name[32]; unsigned valid_hooks; unsigned hook_entry[5]; unsigned underflow[5]; unsigned num_entries; unsigned size
libc = ctypes.CDLL(None, use_errno=True)
IPT_SO_GET_INFO = 64
tot_entries = tot_size = 0
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for name in sys.argv[1:]:
    buf = ctypes.create_string_buffer(name.encode().ljust(32, b'\0') + b'\0' * (4 + 40 + 8), 84)
    ln = ctypes.c_uint(84)
    if libc.getsockopt(s.fileno(), socket.IPPROTO_IP, IPT_SO_GET_INFO, buf, ctypes.byref(ln)) != 0:
        continue
    n, size = struct.unpack_from('II', buf.raw, 76)
    tot_entries += n; tot_size += size
print(tot_entries, tot_size)
