{{/*
The (pool, build) pairs to run: both pools at the current build id, and, with versioning, both
pools at every draining build id until its pinned runs are done.
*/}}
{{- define "crop-map.builds" -}}
{{- $builds := list (include "crop-map.buildId" .) -}}
{{- if .Values.versioning.enabled -}}
{{- $builds = concat $builds (.Values.versioning.draining | default list) -}}
{{- end -}}
{{- toJson $builds -}}
{{- end -}}

{{/* Name of a pool's Deployment (and ScaledObject) for one build id. */}}
{{- define "crop-map.poolName" -}}
{{- $root := index . 0 -}}
{{- $pool := index . 1 -}}
{{- $build := index . 2 -}}
{{- if $root.Values.versioning.enabled -}}
{{- printf "%s-%s-%s" (include "crop-map.fullname" $root) $pool (include "crop-map.buildSlug" $build) | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" (include "crop-map.fullname" $root) $pool -}}
{{- end -}}
{{- end -}}
