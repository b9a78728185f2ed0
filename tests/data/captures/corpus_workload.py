# SPDX-License-Identifier: Apache-2.0
"""The workload recorded into falco-probe-vm.scap.gz (see README.md): a
little of everything the fields read, run by record-falco-probe.py inside
the test VM.  Usage: corpus_workload.py WORKDIR DOCKER_CGROUP CGROUP_ROOT
"""
import ctypes
import os
import shutil
import socket
import subprocess
import sys
import threading

work, cgroup, cgroot = sys.argv[1], sys.argv[2], sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
os.chdir(work)


def child(fn):
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0, status


def run(*argv, **kw):
    subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL, **kw)


# a login uid (user.loginuid, user.loginname), then programs: with and
# without arguments, from a writable copy, from a memfd, in a pid namespace
with open("/proc/self/loginuid", "w") as f:
    f.write("0")
shutil.copy("/bin/true", "t_true")
run("/bin/sh", "-c", "id; ./t_true one two")
run("/usr/bin/env", "-i", "A=1", "/bin/true")


def memfd_exec():
    fd = os.memfd_create("memexe", 0)
    with open("/bin/true", "rb") as f:
        os.write(fd, f.read())
    os.execve(fd, ["memexe"], {"FROM_MEMFD": "1"})


child(memfd_exec)
run("unshare", "-p", "-f", "--mount-proc", "/bin/sh", "-c", "exec ls /proc")


# sessions and process groups; threads
def session():
    os.setsid()
    os.setpgid(0, 0)
    run("/bin/sh", "-c", "cat /etc/hostname")


child(session)
t = threading.Thread(target=lambda: os.close(os.open("/etc/hosts",
                                                     os.O_RDONLY)))
t.start()
t.join()

# files: relative and absolute opens, creation, executables, renames...
os.mkdir("dir")
fd = os.open("dir/../dir/new.txt", os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"hello\n")
os.dup2(fd, 20)
os.close(fd)
os.close(20)
fd = os.open("script.sh", os.O_CREAT | os.O_WRONLY, 0o755)
os.close(fd)
with open("dir/new.txt", "rb") as f:
    f.read()
dfd = os.open("dir", os.O_RDONLY | os.O_DIRECTORY)
os.rename("dir/new.txt", "dir/renamed.txt")
os.link("dir/renamed.txt", "dir/hard.txt")
os.symlink("renamed.txt", "dir/soft.txt")
os.unlink("hard.txt", dir_fd=dfd)
os.chmod("dir/renamed.txt", 0o600)
os.close(dfd)
r, w = os.pipe()
os.write(w, b"x")
os.read(r, 1)
os.close(r)
os.close(w)
try:
    os.open("/nonexistent/file", os.O_RDONLY)
except FileNotFoundError:
    pass

# network: tcp over IPv4 and IPv6, udp with two peers, unix sockets
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    srv = socket.socket(family)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, 80))
    srv.listen(4)
    cli = socket.socket(family)
    cli.connect((host, 80))
    conn, _ = srv.accept()
    cli.sendall(b"GET / HTTP/1.0\r\n\r\n")
    conn.recv(64)
    conn.close()
    cli.close()
    srv.close()
u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.bind(("127.0.0.1", 0))
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sender.sendto(b"a", u1.getsockname())
sender.sendto(b"b", u2.getsockname())
u1.recvfrom(4)
u2.recvfrom(4)
for s in (u1, u2, sender):
    s.close()
us = socket.socket(socket.AF_UNIX)
us.bind(os.path.join(work, "unix.sock"))
us.listen(1)
uc = socket.socket(socket.AF_UNIX)
uc.connect(os.path.join(work, "unix.sock"))
ua, _ = us.accept()
uc.close()
ua.close()
us.close()
a, b = socket.socketpair()
a.close()
b.close()
refused = socket.socket()
refused.connect_ex(("127.0.0.1", 9))
refused.close()


# a process in a docker-like cgroup
def in_container():
    with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    os.execv("/bin/cat", ["cat", "/etc/hostname"])


child(in_container)
