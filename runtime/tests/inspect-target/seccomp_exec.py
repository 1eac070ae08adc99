"""Installs two seccomp filters that allow everything (the second with SECCOMP_FILTER_FLAG_LOG),
then execs argv[1:]: a real, stacked seccomp chain for CRIU to dump."""
import ctypes, os, struct, sys

libc = ctypes.CDLL(None, use_errno=True)

class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

def install(insns, flags):
    buf = ctypes.create_string_buffer(b"".join(struct.pack("=HBBI", *i) for i in insns))
    prog = SockFprog(len(insns), ctypes.addressof(buf))
    # seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog); 317 on x86-64
    if libc.syscall(317, 1, flags, ctypes.byref(prog)) != 0:
        raise OSError(ctypes.get_errno(), "seccomp")

RET_ALLOW = (0x06, 0, 0, 0x7FFF0000)      # BPF_RET|BPF_K, SECCOMP_RET_ALLOW
LD_ARCH = (0x20, 0, 0, 4)                  # BPF_LD|BPF_W|BPF_ABS, offsetof(seccomp_data, arch)
if libc.prctl(38, 1, 0, 0, 0) != 0:         # PR_SET_NO_NEW_PRIVS
    raise OSError(ctypes.get_errno(), "prctl")
install([RET_ALLOW], 0)
install([LD_ARCH, RET_ALLOW], 2)           # SECCOMP_FILTER_FLAG_LOG
os.execvp(sys.argv[1], sys.argv[1:])
