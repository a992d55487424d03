{{/* Chart name, overridable. */}}
{{- define "iplus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects, at most 40 characters so that suffixes such as
"-evaluation" and "-redis-headless" keep every name a valid DNS label. */}}
{{- define "iplus.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "iplus.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every pod of the release carries; NetworkPolicies select on them. */}}
{{- define "iplus.releaseSelector" -}}
app.kubernetes.io/part-of: {{ include "iplus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one component. Call with (dict "root" $ "component" "registry"). */}}
{{- define "iplus.selectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
{{ include "iplus.releaseSelector" .root }}
{{- end }}

{{/* Labels of one component's objects. Call with (dict "root" $ "component" "registry"). */}}
{{- define "iplus.labels" -}}
{{ include "iplus.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "iplus.chart" .root }}
{{- end }}

{{- define "iplus.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "iplus.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "iplus.image" -}}
{{- $repo := required "image.repository is required" .Values.image.repository -}}
{{- printf "%s:%s" $repo (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* A value as an environment string. YAML numbers arrive as float64, so integral ones
are printed as integers (1000000, not 1e+06). */}}
{{- define "iplus.envValue" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) }}
{{- int64 . | toString | quote }}
{{- else }}
{{- toString . | quote }}
{{- end }}
{{- end }}

{{/* Exactly one Redis: in-chart or external. Fails the render otherwise. */}}
{{- define "iplus.redis.validate" -}}
{{- $in := .Values.redis.inChart.enabled }}
{{- $ext := .Values.redis.external.enabled }}
{{- if and $in $ext }}
{{- fail "redis: both redis.inChart.enabled and redis.external.enabled are true; enable exactly one (in-chart StatefulSet or external Redis)" }}
{{- end }}
{{- if not (or $in $ext) }}
{{- fail "redis: neither redis.inChart.enabled nor redis.external.enabled is true; enable exactly one (in-chart StatefulSet or external Redis)" }}
{{- end }}
{{- if and $ext (not .Values.redis.external.address) }}
{{- fail "redis.external.address (host:port) is required when redis.external.enabled is true" }}
{{- end }}
{{- if and $ext (not .Values.redis.auth.existingSecret) }}
{{- fail "redis.auth.existingSecret (a Secret holding the external Redis password) is required when redis.external.enabled is true" }}
{{- end }}
{{- end }}

{{- define "iplus.redis.fullname" -}}
{{- printf "%s-redis" (include "iplus.fullname" .) }}
{{- end }}

{{/* host:port the services connect to. */}}
{{- define "iplus.redis.address" -}}
{{- include "iplus.redis.validate" . }}
{{- if .Values.redis.external.enabled }}
{{- .Values.redis.external.address }}
{{- else }}
{{- printf "%s.%s.svc.%s:%d" (include "iplus.redis.fullname" .) .Release.Namespace .Values.clusterDomain (int .Values.redis.inChart.port) }}
{{- end }}
{{- end }}

{{/* Name and key of the Secret holding the Redis password. */}}
{{- define "iplus.redis.secretName" -}}
{{- default (include "iplus.redis.fullname" .) .Values.redis.auth.existingSecret }}
{{- end }}
{{- define "iplus.redis.secretKey" -}}
{{- if .Values.redis.auth.existingSecret }}
{{- default "redis-password" .Values.redis.auth.existingSecretKey }}
{{- else -}}
redis-password
{{- end }}
{{- end }}

{{/* gRPC target of a service, by name: externalTargets, else this release's headless
Service. Call with (dict "root" $ "name" "registry" "from" "ingest"). */}}
{{- define "iplus.grpcTarget" -}}
{{- $root := .root }}
{{- if hasKey $root.Values.externalTargets .name }}
{{- index $root.Values.externalTargets .name }}
{{- else }}
{{- $svc := index $root.Values.services .name | default dict }}
{{- if not $svc.enabled }}
{{- fail (printf "services.%s needs services.%s, which is not enabled; enable it or set externalTargets.%s" .from .name .name) }}
{{- end }}
{{- printf "dns:///%s-%s.%s.svc.%s:%d" (include "iplus.fullname" $root) .name $root.Release.Namespace $root.Values.clusterDomain (int $svc.grpcPort) }}
{{- end }}
{{- end }}

{{/* True when an enabled service mounts the targets ConfigMap. */}}
{{- define "iplus.targetsUsed" -}}
{{- range $name, $svc := .Values.services }}
{{- if and $svc.enabled $svc.mountTargets }}true{{ end }}
{{- end }}
{{- end }}

{{/* Contents of targets.json: the values' targets, else the plan's (files/targets.json). */}}
{{- define "iplus.targetsFile" -}}
{{- if kindIs "string" .Values.targets }}
{{- .Values.targets }}
{{- else if .Values.targets }}
{{- toPrettyJson .Values.targets }}
{{- else }}
{{- .Files.Get "files/targets.json" }}
{{- end }}
{{- end }}

{{/* The NetworkPolicyPeer of every pod of this release. */}}
{{- define "iplus.releasePeer" -}}
- podSelector:
    matchLabels:
      {{- include "iplus.releaseSelector" . | nindent 6 }}
{{- end }}

{{/* Pod securityContext and container securityContext of every pod. */}}
{{- define "iplus.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .gid }}
fsGroup: {{ .gid }}
seccompProfile:
  type: RuntimeDefault
{{- end }}
{{- define "iplus.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .gid }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* redis.conf of the in-chart Redis (without the password, added at start). */}}
{{- define "iplus.redis.conf" -}}
bind * -::*
port {{ int .Values.redis.inChart.port }}
protected-mode yes
dir /data
appendonly yes
appendfsync always
aof-use-rdb-preamble yes
# redis-server (seen with 7.0) cuts a truncated append-only file inside an unfinished MULTI and
# replays the lost transaction on the next restart (docs/funds.md); refuse such a file
# and let the start-up step repair it with redis-check-aof --fix instead.
aof-load-truncated no
save ""
maxmemory-policy noeviction
# Ingest keeps small hashes of series texts longer than Redis's default 64-byte listpack
# value limit; allowing 1 KiB keeps them in the compact encoding (~3x less memory).
hash-max-listpack-value 1024
{{- with .Values.redis.inChart.maxmemory }}
maxmemory {{ . }}
{{- end }}
{{- with .Values.redis.inChart.extraConfig }}
{{ . }}
{{- end }}
{{- end }}
