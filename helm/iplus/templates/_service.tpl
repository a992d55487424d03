{{/*
iplus.service renders everything one iplus service needs, from its values block
services.<name>: a Deployment, a headless Service (gRPC and metrics ports), a
HorizontalPodAutoscaler, a PodDisruptionBudget and a NetworkPolicy. It is the only
template of service workloads: a new service joins by adding a values block.

Call with (dict "root" $ "name" "registry" "svc" $.Values.services.registry).
*/}}
{{/*
iplus.probeAction: the kubelet's gRPC probe speaks plaintext only, so with TLS on the
gRPC port the probes ask the metrics port instead: /readyz (the health service's state:
not ready while Redis is away) for startup and readiness, /healthz (the process answers)
for liveness, passed as "path".
*/}}
{{- define "iplus.probeAction" -}}
{{- if .tls -}}
httpGet:
  path: {{ .path | default "/readyz" }}
  port: {{ .metricsPort }}
{{- else -}}
grpc:
  port: {{ .grpcPort }}
{{- end }}
{{- end -}}

{{- define "iplus.service" -}}
{{- $root := .root }}
{{- $name := .name }}
{{- $svc := .svc }}
{{- $ctx := dict "root" $root "component" $name }}
{{- $fullname := printf "%s-%s" (include "iplus.fullname" $root) $name }}
{{- $binary := required (printf "services.%s.binary is required" $name) $svc.binary }}
{{- $grpcPort := int (required (printf "services.%s.grpcPort is required" $name) $svc.grpcPort) }}
{{- $metricsPort := int (required (printf "services.%s.metricsPort is required" $name) $svc.metricsPort) }}
{{- $drain := int $root.Values.global.drainTimeoutSeconds }}
{{- $grace := int $root.Values.global.terminationGracePeriodSeconds }}
{{- if le $grace $drain }}
{{- fail (printf "global.terminationGracePeriodSeconds (%d) must exceed global.drainTimeoutSeconds (%d), or Kubernetes kills pods before in-flight calls drain" $grace $drain) }}
{{- end }}
{{- $flags := merge (deepCopy ($svc.flags | default dict)) (deepCopy ($root.Values.global.flags | default dict)) }}
{{- range $flag := list "grpc_address" "metrics_address" "redis_address" "redis_user" "redis_password_file" "region" "drain_timeout_s" "tls_cert_file" "tls_key_file" "tls_ca_file" "tls_require_client_cert" "plaintext" "token_file" "allow_unauthenticated" "service_token_file" }}
{{- if hasKey $flags $flag }}
{{- fail (printf "services.%s: flag %s is set by the chart (ports, redis, region, global.drainTimeoutSeconds, tls, tokens); do not set it in flags" $name $flag) }}
{{- end }}
{{- end }}
{{- $autoscaling := $svc.autoscaling | default dict }}
{{- $pdb := $svc.pdb | default dict }}
{{- $sec := $root.Values.podSecurity }}
{{- $tokens := $root.Values.tokens }}
{{- $serviceToken := and $tokens.serviceTokenSecret ($svc.needs | default list) }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "iplus.labels" $ctx | nindent 4 }}
spec:
  {{- if not $autoscaling.enabled }}
  replicas: {{ int $svc.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "iplus.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "iplus.selectorLabels" $ctx | nindent 8 }}
        app.kubernetes.io/component: {{ $name }}
        {{- with $root.Values.global.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if or $svc.mountTargets $root.Values.global.podAnnotations }}
      annotations:
        {{- if $svc.mountTargets }}
        checksum/targets: {{ include "iplus.targetsFile" $root | sha256sum }}
        {{- end }}
        {{- with $root.Values.global.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "iplus.serviceAccountName" $root }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $grace }}
      {{- with $root.Values.global.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "iplus.podSecurityContext" $sec | nindent 8 }}
      {{- if $root.Values.global.topologySpread.enabled }}
      {{- $spread := $root.Values.global.topologySpread }}
      topologySpreadConstraints:
        - topologyKey: topology.kubernetes.io/zone
          maxSkew: {{ int $spread.zone.maxSkew }}
          whenUnsatisfiable: {{ $spread.zone.whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "iplus.selectorLabels" $ctx | nindent 14 }}
        - topologyKey: kubernetes.io/hostname
          maxSkew: {{ int $spread.node.maxSkew }}
          whenUnsatisfiable: {{ $spread.node.whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "iplus.selectorLabels" $ctx | nindent 14 }}
      {{- end }}
      {{- with $root.Values.global.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.global.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.global.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "iplus.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command: [{{ printf "/usr/local/bin/%s" $binary | quote }}]
          ports:
            - name: grpc
              containerPort: {{ $grpcPort }}
              protocol: TCP
            - name: metrics
              containerPort: {{ $metricsPort }}
              protocol: TCP
          env:
            - name: IPLUS_GRPC_ADDRESS
              value: {{ printf "0.0.0.0:%d" $grpcPort | quote }}
            - name: IPLUS_METRICS_ADDRESS
              value: {{ printf "0.0.0.0:%d" $metricsPort | quote }}
            - name: IPLUS_REDIS_ADDRESS
              value: {{ include "iplus.redis.address" $root | quote }}
            {{- with $root.Values.redis.auth.user }}
            - name: IPLUS_REDIS_USER
              value: {{ . | quote }}
            {{- end }}
            # The Redis password as a file from the Secret, never in the environment.
            - name: IPLUS_REDIS_PASSWORD_FILE
              value: {{ printf "/etc/iplus/redis/%s" (include "iplus.redis.secretKey" $root) | quote }}
            - name: IPLUS_REGION
              value: {{ $root.Values.region | toString | quote }}
            - name: IPLUS_DRAIN_TIMEOUT_S
              value: {{ $drain | toString | quote }}
            {{- if $root.Values.tls.existingSecret }}
            - name: IPLUS_TLS_CERT_FILE
              value: "/etc/iplus/tls/tls.crt"
            - name: IPLUS_TLS_KEY_FILE
              value: "/etc/iplus/tls/tls.key"
            - name: IPLUS_TLS_CA_FILE
              value: "/etc/iplus/tls/ca.crt"
            {{- if $root.Values.tls.requireClientCert }}
            - name: IPLUS_TLS_REQUIRE_CLIENT_CERT
              value: "true"
            {{- end }}
            {{- else }}
            # No tls.existingSecret: plaintext gRPC. Production sets the Secret.
            - name: IPLUS_PLAINTEXT
              value: "true"
            {{- end }}
            {{- if $tokens.existingSecret }}
            - name: IPLUS_TOKEN_FILE
              value: {{ printf "/etc/iplus/tokens/%s" $tokens.key | quote }}
            {{- else }}
            # No tokens.existingSecret: every caller is an anonymous admin. Production sets
            # the Secret.
            - name: IPLUS_ALLOW_UNAUTHENTICATED
              value: "true"
            {{- end }}
            {{- if $serviceToken }}
            - name: IPLUS_SERVICE_TOKEN_FILE
              value: {{ printf "/etc/iplus/service-token/%s" $tokens.serviceTokenKey | quote }}
            {{- end }}
            {{- range $need := $svc.needs | default list }}
            - name: {{ printf "IPLUS_%s_TARGET" ($need | upper) }}
              value: {{ include "iplus.grpcTarget" (dict "root" $root "name" $need "from" $name) | quote }}
            {{- end }}
            {{- range $flag := keys $flags | sortAlpha }}
            - name: {{ printf "IPLUS_%s" ($flag | upper) }}
              value: {{ include "iplus.envValue" (index $flags $flag) }}
            {{- end }}
            {{- with $root.Values.global.env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $svc.env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            {{- include "iplus.probeAction" (dict "tls" $root.Values.tls.existingSecret "grpcPort" $grpcPort "metricsPort" $metricsPort) | nindent 12 }}
            periodSeconds: {{ int $root.Values.probes.startup.periodSeconds }}
            failureThreshold: {{ int $root.Values.probes.startup.failureThreshold }}
          readinessProbe:
            {{- include "iplus.probeAction" (dict "tls" $root.Values.tls.existingSecret "grpcPort" $grpcPort "metricsPort" $metricsPort) | nindent 12 }}
            periodSeconds: {{ int $root.Values.probes.readiness.periodSeconds }}
            timeoutSeconds: {{ int $root.Values.probes.readiness.timeoutSeconds }}
            failureThreshold: {{ int $root.Values.probes.readiness.failureThreshold }}
          livenessProbe:
            {{- include "iplus.probeAction" (dict "tls" $root.Values.tls.existingSecret "grpcPort" $grpcPort "metricsPort" $metricsPort "path" "/healthz") | nindent 12 }}
            periodSeconds: {{ int $root.Values.probes.liveness.periodSeconds }}
            timeoutSeconds: {{ int $root.Values.probes.liveness.timeoutSeconds }}
            failureThreshold: {{ int $root.Values.probes.liveness.failureThreshold }}
          {{- with $svc.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- include "iplus.containerSecurityContext" $sec | nindent 12 }}
          volumeMounts:
            - name: redis-auth
              mountPath: /etc/iplus/redis
              readOnly: true
            {{- if $root.Values.tls.existingSecret }}
            - name: tls
              mountPath: /etc/iplus/tls
              readOnly: true
            {{- end }}
            {{- if $root.Values.tokens.existingSecret }}
            - name: tokens
              mountPath: /etc/iplus/tokens
              readOnly: true
            {{- end }}
            {{- if $serviceToken }}
            - name: service-token
              mountPath: /etc/iplus/service-token
              readOnly: true
            {{- end }}
            {{- if $svc.mountTargets }}
            - name: targets
              mountPath: /etc/iplus/targets
              readOnly: true
            {{- end }}
      volumes:
        - name: redis-auth
          secret:
            secretName: {{ include "iplus.redis.secretName" $root }}
            defaultMode: 0440
            items:
              - key: {{ include "iplus.redis.secretKey" $root }}
                path: {{ include "iplus.redis.secretKey" $root }}
        {{- with $root.Values.tls.existingSecret }}
        - name: tls
          secret:
            secretName: {{ . }}
            defaultMode: 0440
        {{- end }}
        {{- with $root.Values.tokens.existingSecret }}
        - name: tokens
          secret:
            secretName: {{ . }}
            defaultMode: 0440
        {{- end }}
        {{- if $serviceToken }}
        - name: service-token
          secret:
            secretName: {{ $tokens.serviceTokenSecret }}
            defaultMode: 0440
            items:
              - key: {{ $tokens.serviceTokenKey }}
                path: {{ $tokens.serviceTokenKey }}
        {{- end }}
        {{- if $svc.mountTargets }}
        - name: targets
          configMap:
            name: {{ include "iplus.fullname" $root }}-targets
        {{- end }}
---
# Headless: clients resolve every ready pod (dns:///<name>.<namespace>.svc.<domain>:<port>)
# and balance with round_robin.
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "iplus.labels" $ctx | nindent 4 }}
spec:
  clusterIP: None
  selector:
    {{- include "iplus.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: grpc
      port: {{ $grpcPort }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    - name: metrics
      port: {{ $metricsPort }}
      targetPort: metrics
      protocol: TCP
      appProtocol: http
{{- if $autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "iplus.labels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  minReplicas: {{ int $autoscaling.minReplicas }}
  maxReplicas: {{ int $autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ int $autoscaling.targetCPUUtilizationPercentage }}
    {{- with $autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ int . }}
    {{- end }}
{{- end }}
{{- if $pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "iplus.labels" $ctx | nindent 4 }}
spec:
  {{- if hasKey $pdb "minAvailable" }}
  minAvailable: {{ $pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ $pdb.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "iplus.selectorLabels" $ctx | nindent 6 }}
{{- end }}
{{- if $root.Values.networkPolicy.enabled }}
---
# gRPC from the release's own pods and from networkPolicy.grpcFrom (partner ingress);
# metrics from networkPolicy.prometheusFrom. Everything else stays denied.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "iplus.labels" $ctx | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "iplus.selectorLabels" $ctx | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    - from:
        {{- include "iplus.releasePeer" $root | nindent 8 }}
        {{- with $root.Values.networkPolicy.grpcFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - port: {{ $grpcPort }}
          protocol: TCP
    {{- with $root.Values.networkPolicy.prometheusFrom }}
    - from:
        {{- toYaml . | nindent 8 }}
      ports:
        - port: {{ $metricsPort }}
          protocol: TCP
    {{- end }}
{{- end }}
{{- end }}
