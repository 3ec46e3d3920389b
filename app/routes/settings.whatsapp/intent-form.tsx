import { Form, useFetcher } from '@remix-run/react'
import { useEffect, useRef, type ReactNode } from 'react'
import { CONFIRM_PARAM, PAGE_PATH, type Intent } from './intents'
import type { ActionResult } from './types'

/**
 * One action of the page: a real `<form method="post">` with a hidden `intent` (works without
 * JavaScript); with JavaScript, a fetcher submits it in place and `busy` shows the pending state.
 * The result comes from the fetcher, or — without JavaScript — from the page's action data.
 */
export function useIntent(intent: Intent, actionData: ActionResult | null) {
  const fetcher = useFetcher<ActionResult>()
  const busy = fetcher.state !== 'idle'
  const fromFetcher = fetcher.data as ActionResult | undefined
  // While a new submission runs, the previous result stays (no layout jump); aria-busy says it.
  const result = fromFetcher ?? (actionData?.intent === intent ? actionData : undefined)
  return { fetcher, busy, result }
}

export function IntentForm({
  intent,
  state,
  className,
  children,
  describedBy,
}: {
  intent: Intent
  state: ReturnType<typeof useIntent>
  className?: string
  children: ReactNode
  describedBy?: string
}) {
  const { fetcher, busy } = state
  return (
    <fetcher.Form
      method="post"
      action={PAGE_PATH}
      className={className}
      aria-busy={busy || undefined}
      aria-describedby={describedBy}
      // A second click while the first submission runs does nothing (no duplicate request).
      onSubmit={(e) => {
        if (busy) e.preventDefault()
      }}
    >
      <input type="hidden" name="intent" value={intent} />
      {children}
    </fetcher.Form>
  )
}

export function SubmitButton({
  busy,
  label,
  pendingLabel,
  variant = 'primary',
}: {
  busy: boolean
  label: string
  pendingLabel: string
  variant?: 'primary' | 'secondary' | 'danger'
}) {
  return (
    <button type="submit" className={`btn btn-${variant}`} aria-disabled={busy || undefined}>
      {busy ? <span className="spinner" aria-hidden="true" /> : null}
      {busy ? pendingLabel : label}
    </button>
  )
}

/**
 * The error of an action, next to its form: announced (role=alert), readable, never a page. The
 * text comes with the result (the server's one error table, in the page's language).
 */
export function ActionError({ result, id }: { result: ActionResult | undefined; id: string }) {
  if (!result || result.ok || result.field) return null
  return (
    <p className="alert alert-error" role="alert" id={id}>
      {result.message}
    </p>
  )
}

/**
 * The first step of a destructive action without JavaScript: a GET to `?confirm=<value>`, whose
 * page shows the confirmation (disconnect, delete the number).
 */
export function AskConfirmation({ value, label }: { value: string; label: string }) {
  return (
    <Form method="get" action={PAGE_PATH} className="wa-disconnect">
      <input type="hidden" name={CONFIRM_PARAM} value={value} />
      <button type="submit" className="btn btn-danger">
        {label}
      </button>
    </Form>
  )
}

/** The confirmation's heading takes the focus when the step is shown. */
export function useFocusOnConfirm(confirm: boolean) {
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    if (confirm) heading.current?.focus()
  }, [confirm])
  return heading
}
