set -x
# host: cp /lib/modules/$(uname -r)/updates/dkms/scap.ko /tmp/scap.ko
insmod /tmp/scap.ko || exit 5
OUT=/work/main/tests/data/captures/sysdig-0.29.3-vm.scap.gz
sysdig -w /tmp/sd.scap.gz -z -n 8000 &
SD=$!
sleep 4
for i in 1 2 3; do cat /etc/passwd > /dev/null; ls -l /tmp > /dev/null; echo hi > /tmp/x$i; rm -f /tmp/x$i; done
python3 -c 'import socket; s=socket.socket(); s.settimeout(1); print(s.connect_ex(("127.0.0.1", 9)))'
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.settimeout(1); print(s.connect_ex(("::1", 9)))'
for i in $(seq 1 200); do cat /etc/hostname > /dev/null; done
wait $SD
cp /tmp/sd.scap.gz $OUT; ls -la $OUT
rmmod scap
python3 -m pytest -q -p no:cacheprovider tests/kernel/test_source_live.py -k "non_root or known"
python3 bench/replay_live.py --seconds 3
