{{/* Names, labels and the checks every render runs. */}}

{{- define "crop-map.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "crop-map.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "crop-map.buildId" -}}
{{- .Values.buildId | default .Chart.AppVersion -}}
{{- end -}}

{{- define "crop-map.serviceAccountName" -}}
{{- if .Values.credentials.serviceAccount.create -}}
{{- .Values.credentials.serviceAccount.name | default (include "crop-map.fullname" .) -}}
{{- else -}}
{{- .Values.credentials.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* A Kubernetes-safe suffix for a build id (lower case, [a-z0-9-]). */}}
{{- define "crop-map.buildSlug" -}}
{{- regexReplaceAll "[^a-z0-9-]+" (lower .) "-" | trunc 20 | trimSuffix "-" -}}
{{- end -}}

{{/*
The project's config file: the user's `config` with temporal, task queues, worker settings and
versioning filled in from the values. Secrets are never in it.
*/}}
{{- define "crop-map.configJson" -}}
{{- $v := .Values -}}
{{- $tls := dict "enabled" (and $v.temporal.tls (not $v.temporal.insecure)) -}}
{{- if $v.temporal.mtlsSecret.name -}}
{{- $_ := set $tls "certFile" "/etc/crop-map/temporal-tls/tls.crt" -}}
{{- $_ := set $tls "keyFile" "/etc/crop-map/temporal-tls/tls.key" -}}
{{- if $v.temporal.mtlsSecret.caKey -}}
{{- $_ := set $tls "caFile" (printf "/etc/crop-map/temporal-tls/%s" $v.temporal.mtlsSecret.caKey) -}}
{{- end -}}
{{- end -}}
{{- $temporal := dict "address" $v.temporal.address "namespace" $v.temporal.namespace "uiUrl" $v.temporal.uiUrl "tls" $tls -}}
{{- $queues := dict "cpu" $v.pools.cpu.taskQueue "inference" $v.pools.inference.taskQueue -}}
{{- $workers := dict "cpuConcurrency" $v.pools.cpu.concurrency "inferenceConcurrency" $v.pools.inference.concurrency -}}
{{- $filled := dict "temporal" $temporal "taskQueues" $queues "workers" $workers -}}
{{- $config := mergeOverwrite (deepCopy $v.config) $filled -}}
{{- $inference := mergeOverwrite (dict "device" $v.pools.inference.device "batchSize" 8 "memoryBudgetMb" 1024 "checkpointEveryRows" 4) (get $v.config "inference" | default dict) -}}
{{- $_ := set $config "inference" $inference -}}
{{- toPrettyJson $config -}}
{{- end -}}

{{/* Render-time checks: a bad value fails with a message naming it. */}}
{{- define "crop-map.validate" -}}
{{- $v := .Values -}}
{{- if not $v.temporal.address -}}
{{- fail "temporal.address is required (Temporal Cloud: <namespace>.<account>.tmprl.cloud:7233)" -}}
{{- end -}}
{{- range $key, $_ := merge (dict) ($v.pools.cpu.resources.limits | default dict) ($v.pools.cpu.resources.requests | default dict) -}}
{{- if contains "gpu" (lower $key) -}}
{{- fail (printf "pools.cpu.resources: %s on the CPU pool; GPU limits belong on the inference pool only (pools.inference.resources)" $key) -}}
{{- end -}}
{{- end -}}
{{- if and (not $v.credentials.awsSecret.name) (not $v.credentials.serviceAccount.annotations) -}}
{{- fail "no credentials source for S3: set credentials.awsSecret.name (an existing Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or a cloud role in credentials.serviceAccount.annotations (eks.amazonaws.com/role-arn)" -}}
{{- end -}}
{{- $temporalSources := 0 -}}
{{- if $v.temporal.apiKeySecret.name }}{{ $temporalSources = add1 $temporalSources }}{{ end -}}
{{- if $v.temporal.mtlsSecret.name }}{{ $temporalSources = add1 $temporalSources }}{{ end -}}
{{- if $v.temporal.insecure }}{{ $temporalSources = add1 $temporalSources }}{{ end -}}
{{- if ne (int $temporalSources) 1 -}}
{{- fail "no credentials source for Temporal, or more than one: set exactly one of temporal.apiKeySecret.name, temporal.mtlsSecret.name, temporal.insecure=true" -}}
{{- end -}}
{{- $access := (get ($v.config.archive | default dict) "access") | default "s3" -}}
{{- if and (hasPrefix "earthdata" $access) (not $v.credentials.earthdataSecret.name) -}}
{{- fail (printf "no credentials source for the archive: config.archive.access is %s, set credentials.earthdataSecret.name (an existing Secret with the Earthdata Login token)" $access) -}}
{{- end -}}
{{- if regexMatch "(?i)\"[^\"]*(password|secret|token|apikey|api_key|accesskey|privatekey)[^\"]*\"\\s*:" (toJson $v.config) -}}
{{- fail "config: a key names a secret; secrets come from existing Secrets (temporal.apiKeySecret, temporal.mtlsSecret, credentials.*), never from values or the ConfigMap" -}}
{{- end -}}
{{- if le (int $v.pools.inference.terminationGracePeriodSeconds) (int (add $v.pools.inference.batchSeconds 10)) -}}
{{- fail (printf "pools.inference.terminationGracePeriodSeconds=%v must exceed one inference batch (pools.inference.batchSeconds=%v) plus 10 s" $v.pools.inference.terminationGracePeriodSeconds $v.pools.inference.batchSeconds) -}}
{{- end -}}
{{- if and $v.versioning.enabled (has (include "crop-map.buildId" .) $v.versioning.draining) -}}
{{- fail (printf "versioning.draining lists the current buildId %s" (include "crop-map.buildId" .)) -}}
{{- end -}}
{{- end -}}
