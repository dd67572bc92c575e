"""A real local Kubernetes for tests and the demo, built from upstream sources (see `hack/build-k8s.sh`).

It starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (simulated nodes) and, where
the machine allows, a kubelet with containerd and runc (a real node), all as processes on 127.0.0.1.
It is development tooling: the operator never imports it.
"""
