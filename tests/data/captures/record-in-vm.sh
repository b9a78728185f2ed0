set -e
# host: cp /lib/modules/$(uname -r)/updates/dkms/scap.ko /tmp/scap.ko
insmod /tmp/scap.ko || exit 5
OUT=/work/main/tests/data/captures/sysdig-0.29.3-vm.scap.gz
sysdig -w /tmp/sd.scap.gz -z -n 2500 "evt.type!=switch and proc.name!=sysdig and evt.type!=procinfo" &
SD=$!
sleep 3
for i in $(seq 1 40); do
  cat /etc/passwd > /dev/null; ls -l /tmp > /dev/null; echo hi > /tmp/x$i; rm -f /tmp/x$i
  python3 -c 'import socket; s=socket.socket(); s.settimeout(1); s.connect_ex(("127.0.0.1", 9)); s6=socket.socket(socket.AF_INET6); s6.settimeout(1); s6.connect_ex(("::1", 9))'
  kill -0 $SD 2>/dev/null || break
done
wait $SD || true
cp /tmp/sd.scap.gz $OUT; ls -la $OUT
rmmod scap
