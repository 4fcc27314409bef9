/**
 * The Kubernetes manifests in deploy/k8s, written from the registry: one
 * headless Service + StatefulSet file per service (name, ports, replicas and
 * SHARDS_PER_POD from its entry), the PodDisruptionBudgets and the
 * kustomization listing them. `pharaoh fleet k8s --manifests deploy/k8s`
 * rewrites them; tools/cli/test/registry.test.ts fails when the committed
 * files differ. To change what every service's pods look like, change the
 * template here and rewrite.
 */
import type { Registry, ServiceSpec } from '@pharaoh/registry';
import { podsForShardsPerPod } from './ordinal.js';

function serviceManifest(s: ServiceSpec): string {
  return `# Pharaoh ${s.name}: a headless Service (stable DNS name per pod, for the fleet file)
# and a StatefulSet (pod ordinal -> shard range, one persistent volume per pod).
# replicas must equal ceil(1024 / SHARDS_PER_POD); see docs/DEPLOY.md.
apiVersion: v1
kind: Service
metadata:
  name: ${s.name}
  labels:
    app.kubernetes.io/name: pharaoh-${s.name}
    app.kubernetes.io/part-of: pharaoh
spec:
  clusterIP: None
  # Clients address pods by name (fleet file), not through a load balancer:
  # each pod owns different shards.
  selector:
    app.kubernetes.io/name: pharaoh-${s.name}
  ports:
    - name: ws
      port: ${s.ports.ws}
      targetPort: ws
    - name: http
      port: ${s.ports.http}
      targetPort: http
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${s.name}
  labels:
    app.kubernetes.io/name: pharaoh-${s.name}
    app.kubernetes.io/part-of: pharaoh
spec:
  serviceName: ${s.name}
  replicas: ${podsForShardsPerPod(s.shardsPerPod)}
  # Pods own disjoint shards, so they may start in parallel. The StatefulSet
  # still never runs two pods with the same ordinal: pod N is recreated only
  # after the old pod N is gone.
  podManagementPolicy: Parallel
  # A rolling update replaces one pod at a time (delete pod N, wait until it is
  # gone, create the new pod N): its shards are unavailable until it is ready.
  updateStrategy:
    type: RollingUpdate
  selector:
    matchLabels:
      app.kubernetes.io/name: pharaoh-${s.name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: pharaoh-${s.name}
        app.kubernetes.io/part-of: pharaoh
      annotations:
        # For Prometheus' annotation-based pod discovery. /metrics needs an admin
        # bearer token and speaks HTTPS: the scrape job must send one (the
        # PodMonitor in deploy/monitoring does; docs/OPERATIONS.md, "Scraping").
        prometheus.io/scrape: "true"
        prometheus.io/scheme: "https"
        prometheus.io/port: "${s.ports.http}"
        prometheus.io/path: "/metrics"
    spec:
      # SIGTERM → stop accepting, answer in-flight requests, sync journals, close.
      terminationGracePeriodSeconds: 30
      automountServiceAccountToken: false
      enableServiceLinks: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        runAsGroup: 1000
        fsGroup: 1000
        seccompProfile:
          type: RuntimeDefault
      # Pods of one service on different nodes (a node failure takes at most
      # one pod's shards; with more pods than nodes, evenly), and across zones
      # where the cluster has them.
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: DoNotSchedule
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: pharaoh-${s.name}
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: pharaoh-${s.name}
      containers:
        - name: ${s.name}
          image: pharaoh:0.1.0
          imagePullPolicy: IfNotPresent
          env:
            - name: PHARAOH_SERVICE
              value: "${s.name}"
            - name: SHARDS_PER_POD
              value: "${s.shardsPerPod}"
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: PORT
              value: "${s.ports.ws}"
            - name: HTTP_PORT
              value: "${s.ports.http}"
            - name: PHARAOH_DATA
              value: /data
            # Accepted bearer tokens ("client:<token>" / "admin:<token>" lines) from the
            # Secret pharaoh-tokens (create it before applying; docs/SECURITY.md).
            # Listening on 0.0.0.0 without tokens is refused at start.
            - name: PHARAOH_TOKEN_FILE
              value: /etc/pharaoh/tokens/tokens
            # wss:// on the WebSocket port and https:// on the HTTP port, with the
            # certificate of the Secret pharaoh-tls (kubernetes.io/tls; cert-manager
            # renews it in place, and kill -HUP 1 or a rollout picks it up).
            - name: PHARAOH_TLS_CERT
              value: /etc/pharaoh/tls/tls.crt
            - name: PHARAOH_TLS_KEY
              value: /etc/pharaoh/tls/tls.key
            # Keep the V8 heap well inside the memory limit: GC works harder
            # before the kernel's OOM killer would end the pod.
            - name: NODE_OPTIONS
              value: "--max-old-space-size=384"
          ports:
            - name: ws
              containerPort: ${s.ports.ws}
            - name: http
              containerPort: ${s.ports.http}
          # A start opens every shard before it listens: up to a few seconds, longer
          # when journals are replayed. Liveness only counts once this succeeded.
          startupProbe:
            httpGet:
              path: /healthz
              port: http
              scheme: HTTPS
            periodSeconds: 2
            failureThreshold: 150
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
              scheme: HTTPS
            periodSeconds: 2
            failureThreshold: 2
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
              scheme: HTTPS
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          # From measured figures (docs/DEPLOY.md, "Resources"). No CPU limit: CFS
          # throttling would stall answers of every shard of the pod.
          resources:
            requests:
              cpu: ${s.pods.cpu}
              memory: 256Mi
            limits:
              memory: 512Mi
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: data
              mountPath: /data
            - name: tokens
              mountPath: /etc/pharaoh/tokens
              readOnly: true
            - name: tls
              mountPath: /etc/pharaoh/tls
              readOnly: true
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tokens
          secret:
            secretName: pharaoh-tokens
            defaultMode: 0440
        - name: tls
          secret:
            secretName: pharaoh-tls
            defaultMode: 0440
        # The root file system is read-only; Node and its libraries may still want a /tmp.
        - name: tmp
          emptyDir:
            medium: Memory
            sizeLimit: 16Mi
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        # One volume per pod, mountable by one pod only. Use ReadWriteOnce if
        # your CSI driver lacks ReadWriteOncePod (Kubernetes >= 1.29); use block
        # storage, not NFS: the shard lock is an OFD lock held by the kernel.
        accessModes: ["ReadWriteOncePod"]
        # ${s.pods.storageWhy}
        resources:
          requests:
            storage: ${s.pods.storage}
`;
}

function pdbs(registry: Registry): string {
  const one = (s: ServiceSpec) => `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: ${s.name}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: pharaoh-${s.name}
`;
  return (
    '# At most one pod of each service voluntarily evicted at a time (node drains):\n' +
    "# each pod's shards are unavailable while it restarts.\n" +
    registry.services.map(one).join('---\n')
  );
}

function kustomization(registry: Registry): string {
  const files = ['namespace.yaml', ...registry.names.map((n) => `${n}.yaml`), 'pdb.yaml'];
  return ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'namespace: pharaoh', 'resources:', ...files.map((f) => `  - ${f}`), ''].join('\n');
}

/** Every generated file of deploy/k8s by name (namespace.yaml is written by hand). */
export function k8sManifests(registry: Registry): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of registry.services) out.set(`${s.name}.yaml`, serviceManifest(s));
  out.set('pdb.yaml', pdbs(registry));
  out.set('kustomization.yaml', kustomization(registry));
  return out;
}
