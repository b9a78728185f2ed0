
	
default

k8s.io