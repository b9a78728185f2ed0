
‘
localhost/falco-test:1.0Ø
*application/vnd.oci.image.manifest.v1+jsonGsha256:434ab044af1cb5a3a3a2965e1d12b7f2277c59f423e5b9cbcac69ee36d70eda1¦*(
!org.opencontainers.image.ref.name1.0*4
io.containerd.image.namelocalhost/falco-test:1.0:ˆ•ÓØà”şBˆ•ÓØà”ş