import { Link } from '@remix-run/react'
import { useEffect, useRef, type ReactNode } from 'react'
import { t, type Lang, type MessageKey } from '../../utils/i18n'
import { ActionError, AskConfirmation, IntentForm, SubmitButton, useFocusOnConfirm, useIntent } from './intent-form'
import { CONFIRM_DISCONNECT, INTENTS, PAGE_PATH } from './intents'
import type {
  ActionResult,
  DegradedStatus,
  PanelView,
  RecentMessagesView,
  SimulatedPhoneLink,
  StatusAdvice,
  StatusHistoryView,
  WaitingDisplay,
} from './types'
import type { LifecycleView } from './types'
import { LifecycleBlock } from './lifecycle'
import { monthlyPrice, relativeWords } from '../../utils/words'
import { useClock, useLiveStatus, useMessageStatuses } from './use-live-status'
import { confirmKept } from './panel-view'

export interface PanelProps {
  lang: Lang
  canMutate: boolean
  confirm: boolean
  view: PanelView
  stale: string | null
  /** Owners/admins of a linked number: the recent messages card (null otherwise). */
  messages: RecentMessagesView | null
  now: string
  actionData: ActionResult | null
  /** The "Historique" card (null when WhatsApp Pro is off and nothing is linked). */
  history?: StatusHistoryView | null
  /** Owners/admins of a tenant that never linked a number: the first-link checklist. */
  coaching?: boolean
  /** Reboot and remove (decisions 210–211). */
  lifecycle: LifecycleView
  /** Simulator mode: the simulated phone's page for the QR or code shown (decision 216). */
  simulatorPhone?: SimulatedPhoneLink | null
  /** The link form's expected number: the refused one, else the last linked one (decision 200). */
  expectedPhonePrefill?: string | null
}

type Tone = 'off' | 'wait' | 'ok' | 'warn'

function headline(view: PanelView): { key: MessageKey; tone: Tone } {
  switch (view.state) {
    case 'disabled':
      return { key: 'wa.state.disabled', tone: 'off' }
    case 'unlinked':
      return { key: view.expired ? 'wa.state.linkExpired' : 'wa.state.unlinked', tone: view.expired ? 'warn' : 'off' }
    case 'waiting':
      return { key: 'wa.state.waiting', tone: 'wait' }
    case 'connected':
      return { key: 'wa.state.connected', tone: 'ok' }
    case 'degraded':
      return { key: `wa.state.${view.status}`, tone: view.status === 'starting' ? 'wait' : 'warn' }
  }
}

/** The WhatsApp Pro panel: one card whose header always says the state, and what to do below. */
export function WhatsAppPanel(loaded: PanelProps) {
  const pushed = useLiveStatus(loaded.view)
  const props = pushed ? { ...loaded, view: pushed, confirm: confirmKept(loaded.view, pushed, loaded.confirm) } : loaded
  const { lang, view, stale } = props
  const { key, tone } = headline(view)
  const statusRef = useRef<HTMLParagraphElement>(null)

  // A state change removes the form that had focus: keep keyboard users on the new state.
  useEffect(() => {
    if (typeof document !== 'undefined' && (document.activeElement === document.body || document.activeElement === null)) {
      statusRef.current?.focus({ preventScroll: true })
    }
  }, [view.state])

  const refreshes = view.state === 'waiting' || (view.state === 'degraded' && view.status === 'starting')
  return (
    <main className="wa-main" lang={lang}>
      <div className="wa-intro">
        <h1>{t(lang, 'wa.title')}</h1>
        <p className="muted">{t(lang, 'wa.lead')}</p>
      </div>
      {refreshes ? (
        // Without JavaScript the page re-reads the status every 3 s (with it, SSE does).
        <noscript>
          <meta httpEquiv="refresh" content="3" />
        </noscript>
      ) : null}
      <section className={`wa-card wa-tone-${tone}`} aria-labelledby="wa-status">
        <p id="wa-status" className="wa-status" role="status" aria-live="polite" aria-atomic="true" tabIndex={-1} ref={statusRef}>
          <span className="wa-dot" aria-hidden="true" />
          <span>{t(lang, key)}</span>
        </p>
        {stale ? (
          <p className="wa-stale">
            {t(lang, 'wa.stale', {
              time: `${new Date(stale).toLocaleTimeString(lang === 'en' ? 'en-GB' : 'fr-FR', { timeZone: 'UTC' })} UTC`,
            })}
          </p>
        ) : null}
        <div className="wa-body">
          <StateBody {...props} />
          <LifecycleBlock
            lang={lang}
            canMutate={props.canMutate}
            confirmDisconnect={props.confirm}
            view={view}
            lifecycle={props.lifecycle}
            actionData={props.actionData}
          />
        </div>
      </section>
      {props.coaching && (view.state === 'unlinked' || view.state === 'waiting') ? <FirstLinkChecklist lang={lang} /> : null}
      {props.messages && (view.state === 'connected' || view.state === 'degraded') ? (
        <RecentMessages lang={lang} messages={props.messages} />
      ) : null}
      {props.history ? <StatusHistory lang={lang} history={props.history} /> : null}
    </main>
  )
}

function StateBody(props: PanelProps) {
  const { view } = props
  switch (view.state) {
    case 'disabled':
      return <Disabled {...props} />
    case 'unlinked':
      return <Unlinked {...props} expired={view.expired} />
    case 'waiting':
      return <Waiting {...props} linkExpiresAt={view.linkExpiresAt} display={view.display} />
    case 'connected':
      return (
        <Connected
          {...props}
          phoneNumber={view.status.phoneNumber ?? null}
          profileName={view.status.profileName ?? null}
          pictureUrl={view.status.pictureUrl ?? null}
        />
      )
    case 'degraded':
      return <Degraded {...props} status={view.status} advice={view.advice} />
  }
}

// ---------------------------------------------------------------------------------------------

function Disabled(props: PanelProps) {
  const { view } = props
  if (view.state !== 'disabled' || !view.ended) return <Upsell {...props} />
  const { lang, canMutate, confirm, actionData } = props
  const { endedAt, unlinkAt, phoneNumber } = view.ended
  const day = (iso: string) =>
    new Date(iso).toLocaleDateString(lang === 'en' ? 'en-GB' : 'fr-FR', { timeZone: 'UTC', dateStyle: 'long' })
  return (
    <>
      <div className="alert alert-warn" role="status">
        <p>
          {t(lang, 'wa.ended.notice', {
            ended: day(endedAt),
            phone: phoneNumber ?? t(lang, 'wa.connected.unknownNumber'),
            unlink: day(unlinkAt),
          })}
        </p>
      </div>
      {canMutate ? <DisconnectBlock lang={lang} confirm={confirm} actionData={actionData} phoneNumber={phoneNumber} /> : null}
      <Upsell {...props} />
    </>
  )
}

function Upsell({ lang, canMutate, actionData }: PanelProps) {
  const upgrade = useIntent(INTENTS.requestUpgrade, actionData)
  const done = upgrade.result?.ok ? upgrade.result.upgrade : undefined
  const benefits: MessageKey[] = ['wa.upsell.benefit1', 'wa.upsell.benefit2', 'wa.upsell.benefit3', 'wa.upsell.benefit4']
  return (
    <div className="wa-upsell">
      <div className="wa-upsell-copy">
        <h2>{t(lang, 'wa.upsell.title')}</h2>
        <ul className="wa-benefits">
          {benefits.map((b) => (
            <li key={b}>{t(lang, b)}</li>
          ))}
        </ul>
      </div>
      <div className="wa-price-box">
        <p className="wa-price">
          <strong>{t(lang, 'wa.upsell.price', { price: monthlyPrice(lang) })}</strong>
          <span className="muted">{t(lang, 'wa.upsell.priceNote')}</span>
        </p>
        {canMutate ? (
          <IntentForm intent={INTENTS.requestUpgrade} state={upgrade}>
            <SubmitButton busy={upgrade.busy} label={t(lang, 'wa.upsell.cta')} pendingLabel={t(lang, 'wa.upsell.cta')} />
          </IntentForm>
        ) : (
          <p className="muted">{t(lang, 'wa.upsell.memberHint')}</p>
        )}
        {done ? (
          <p className="alert alert-success" role="status">
            {t(
              lang,
              done === 'recorded'
                ? 'wa.upsell.recorded'
                : done === 'already_pending'
                  ? 'wa.upsell.alreadyPending'
                  : 'wa.upsell.alreadyEnabled',
            )}
          </p>
        ) : null}
        <ActionError result={upgrade.result} id="upgrade-error" />
      </div>
    </div>
  )
}

// ---------------------------------------------------------------------------------------------

function Unlinked(props: PanelProps & { expired: boolean }) {
  const { lang, canMutate, actionData, expired, view } = props
  const qr = useIntent(INTENTS.linkQr, actionData)
  const phone = useIntent(INTENTS.linkPhone, actionData)
  const phoneInvalid = phone.result && !phone.result.ok && phone.result.field === 'phoneNumber'
  return (
    <>
      {expired ? (
        <div className="alert alert-warn">
          <strong>{t(lang, 'wa.expired.title')}</strong> {t(lang, 'wa.expired.help')}
        </div>
      ) : null}
      {view.state === 'unlinked' && view.wrongNumber ? <WrongNumberNotice lang={lang} refused={view.wrongNumber} /> : null}
      {canMutate ? (
        <div className="wa-options">
          <section className="wa-option" aria-labelledby="opt-qr">
            <h2 id="opt-qr">{t(lang, 'wa.connect.title')}</h2>
            <p className="muted">{t(lang, 'wa.connect.help')}</p>
            <IntentForm intent={INTENTS.linkQr} state={qr}>
              <ExpectedPhoneField lang={lang} prefill={props.expectedPhonePrefill ?? null} result={qr.result ?? null} />
              <SubmitButton busy={qr.busy} label={t(lang, 'wa.connect.cta')} pendingLabel={t(lang, 'wa.connect.pending')} />
            </IntentForm>
            <ActionError result={qr.result} id="link-qr-error" />
          </section>
          <section className="wa-option" aria-labelledby="opt-phone">
            <h2 id="opt-phone">{t(lang, 'wa.phone.title')}</h2>
            <p className="muted">{t(lang, 'wa.phone.help')}</p>
            <IntentForm intent={INTENTS.linkPhone} state={phone} className="wa-inline-form">
              <PhoneField
                name="phoneNumber"
                label={t(lang, 'wa.phone.label')}
                hint={t(lang, 'wa.phone.hint')}
                error={phoneInvalid && phone.result && !phone.result.ok ? phone.result.message : null}
                required
                maxLength={20}
              />
              <SubmitButton
                busy={phone.busy}
                label={t(lang, 'wa.phone.cta')}
                pendingLabel={t(lang, 'wa.phone.pending')}
                variant="secondary"
              />
            </IntentForm>
            <ActionError result={phone.result} id="link-phone-error" />
          </section>
        </div>
      ) : (
        <p className="muted">{t(lang, 'wa.memberReadOnly')}</p>
      )}
    </>
  )
}

// ---------------------------------------------------------------------------------------------

function Waiting({
  lang,
  canMutate,
  actionData,
  now,
  linkExpiresAt,
  display,
  simulatorPhone,
}: PanelProps & { linkExpiresAt: string | null; display: WaitingDisplay }) {
  const refresh = useIntent(INTENTS.refreshQr, actionData)
  const cancel = useIntent(INTENTS.disconnect, actionData)
  const displayExpiry = display.kind === 'qr' || display.kind === 'pairing' ? display.expiresAt : null
  const clock = useClock(now, true, [linkExpiresAt, displayExpiry])
  const left = (iso: string | null) => (iso ? Date.parse(iso) - clock : 0)

  if (display.kind === 'hidden') {
    return <p className="muted">{t(lang, 'wa.waiting.memberHint')}</p>
  }
  const pairing = display.kind === 'pairing'
  const refreshForm = (
    <IntentForm intent={INTENTS.refreshQr} state={refresh}>
      <SubmitButton
        busy={refresh.busy}
        label={t(lang, pairing ? 'wa.pairing.useQr' : 'wa.waiting.refresh')}
        pendingLabel={t(lang, 'wa.waiting.refreshPending')}
        variant={display.kind === 'qr' ? 'secondary' : 'primary'}
      />
    </IntentForm>
  )
  return (
    <div className="wa-waiting">
      <div className="wa-visual">
        {display.kind === 'qr' ? (
          <img className="wa-qr" src={display.src} width={240} height={240} alt={t(lang, 'wa.waiting.qrAlt')} />
        ) : display.kind === 'pairing' ? (
          <div className="wa-code-box">
            <span className="wa-code-label" id="pairing-label">
              {t(lang, 'wa.pairing.codeLabel')}
            </span>
            <output className="wa-code" aria-labelledby="pairing-label">
              {display.code}
            </output>
          </div>
        ) : (
          <div className="wa-qr-placeholder">
            <p>{display.kind === 'error' ? t(lang, 'wa.error.qrUnavailable') : t(lang, 'wa.waiting.qrExpired')}</p>
          </div>
        )}
      </div>
      <div className="wa-instructions">
        <h2>{t(lang, pairing ? 'wa.pairing.title' : 'wa.waiting.title')}</h2>
        {display.kind === 'qr' ? (
          <p className="wa-timer">{t(lang, 'wa.waiting.qrExpiresIn', { time: relativeWords(lang, left(display.expiresAt)) })}</p>
        ) : null}
        {display.kind === 'pairing' ? (
          <p className="wa-timer">
            {left(display.expiresAt) > 0
              ? t(lang, 'wa.pairing.expiresIn', { time: relativeWords(lang, left(display.expiresAt)) })
              : t(lang, 'wa.pairing.expired')}
          </p>
        ) : null}
        {display.kind === 'exhausted' ? <p className="wa-timer">{t(lang, 'wa.waiting.qrExhausted')}</p> : null}
        {display.kind === 'error' ? (
          <p className="alert alert-error" role="alert">
            {display.message}
          </p>
        ) : null}
        <h3 className="wa-steps-title">{t(lang, 'wa.waiting.steps')}</h3>
        <ol className="wa-steps">
          {pairing ? (
            <>
              <li>{t(lang, 'wa.pairing.step1')}</li>
              <li>{t(lang, 'wa.pairing.step2')}</li>
              <li>{t(lang, 'wa.pairing.step3')}</li>
            </>
          ) : (
            <>
              <li>{t(lang, 'wa.waiting.step1')}</li>
              <li>{t(lang, 'wa.waiting.step2')}</li>
              <li>{t(lang, 'wa.waiting.step3')}</li>
            </>
          )}
        </ol>
        {simulatorPhone ? <SimulatedPhone lang={lang} link={simulatorPhone} /> : null}
        {linkExpiresAt ? (
          <p className="muted wa-attempt">
            {t(lang, 'wa.waiting.attemptEndsIn', { time: relativeWords(lang, left(linkExpiresAt)) })}
          </p>
        ) : null}
        {canMutate ? (
          <div className="wa-actions">
            {refreshForm}
            <IntentForm intent={INTENTS.disconnect} state={cancel}>
              <SubmitButton
                busy={cancel.busy}
                label={t(lang, 'wa.waiting.cancel')}
                pendingLabel={t(lang, 'wa.disconnect.pending')}
                variant="secondary"
              />
            </IntentForm>
          </div>
        ) : null}
        <ActionError result={refresh.result} id="refresh-qr-error" />
        <ActionError result={cancel.result} id="cancel-error" />
        <noscript>
          <p className="muted">{t(lang, 'wa.waiting.noScript')}</p>
        </noscript>
      </div>
    </div>
  )
}

// ---------------------------------------------------------------------------------------------

function Connected({
  lang,
  canMutate,
  actionData,
  confirm,
  phoneNumber,
  profileName,
  pictureUrl,
  messages,
}: PanelProps & { phoneNumber: string | null; profileName: string | null; pictureUrl: string | null }) {
  const test = useIntent(INTENTS.sendTest, actionData)
  const fieldError = test.result && !test.result.ok ? test.result.field : undefined
  const recordedId = test.result?.ok ? test.result.recordedId : undefined
  return (
    <div className="wa-connected">
      <div className="wa-account">
        {pictureUrl ? (
          // Our own origin (decision 240): the picture was fetched server-side, never hot-linked.
          <img
            className="wa-avatar"
            src={pictureUrl}
            width={64}
            height={64}
            alt={profileName ? t(lang, 'wa.connected.pictureOf', { name: profileName }) : t(lang, 'wa.connected.picture')}
          />
        ) : null}
        <dl className="wa-facts">
          {profileName ? (
            <div>
              <dt>{t(lang, 'wa.connected.profileName')}</dt>
              <dd className="wa-profile-name">{profileName}</dd>
            </div>
          ) : null}
          <div>
            <dt>{t(lang, 'wa.connected.number')}</dt>
            <dd className="wa-phone">{phoneNumber ?? t(lang, 'wa.connected.unknownNumber')}</dd>
          </div>
        </dl>
      </div>
      {canMutate ? (
        <>
          <section className="wa-subcard" aria-labelledby="test-title">
            <h2 id="test-title">{t(lang, 'wa.test.title')}</h2>
            <IntentForm intent={INTENTS.sendTest} state={test} className="wa-test-form">
              <div className="field">
                <label htmlFor="to">{t(lang, 'wa.test.to')}</label>
                <input
                  id="to"
                  name="to"
                  type="tel"
                  inputMode="tel"
                  autoComplete="off"
                  maxLength={20}
                  defaultValue={phoneNumber ?? ''}
                  aria-describedby={fieldError === 'to' ? 'to-hint to-error' : 'to-hint'}
                  aria-invalid={fieldError === 'to' || undefined}
                />
                <span id="to-hint" className="hint">
                  {t(lang, 'wa.test.toHint')}
                </span>
                {fieldError === 'to' ? (
                  <span id="to-error" className="field-error" role="alert">
                    {t(lang, 'wa.error.phone')}
                  </span>
                ) : null}
              </div>
              <div className="field">
                <label htmlFor="message">{t(lang, 'wa.test.message')}</label>
                <textarea
                  id="message"
                  name="message"
                  rows={3}
                  maxLength={1000}
                  required
                  defaultValue={t(lang, 'wa.test.defaultMessage')}
                  aria-describedby={fieldError === 'message' ? 'message-error' : undefined}
                  aria-invalid={fieldError === 'message' || undefined}
                />
                {fieldError === 'message' ? (
                  <span id="message-error" className="field-error" role="alert">
                    {t(lang, 'wa.error.message')}
                  </span>
                ) : null}
              </div>
              <SubmitButton busy={test.busy} label={t(lang, 'wa.test.cta')} pendingLabel={t(lang, 'wa.test.pending')} />
            </IntentForm>
            {test.result?.ok ? (
              <p className="alert alert-success" role="status">
                {t(lang, 'wa.test.sent', { id: test.result.messageId ?? '' })}
                {test.result.recordedId ? (
                  <TestMessageStatus
                    lang={lang}
                    id={test.result.recordedId}
                    initial={messages?.items.find((m) => m.id === recordedId)?.status ?? 'sent'}
                  />
                ) : null}
              </p>
            ) : null}
            <ActionError result={test.result} id="send-test-error" />
          </section>
          <DisconnectBlock lang={lang} confirm={confirm} actionData={actionData} phoneNumber={phoneNumber} />
        </>
      ) : (
        <p className="muted">{t(lang, 'wa.memberReadOnly')}</p>
      )}
    </div>
  )
}

function DisconnectBlock({
  lang,
  confirm,
  actionData,
  phoneNumber,
}: {
  lang: Lang
  confirm: boolean
  actionData: ActionResult | null
  phoneNumber: string | null
}) {
  const off = useIntent(INTENTS.disconnect, actionData)
  const heading = useFocusOnConfirm(confirm)
  if (!confirm) {
    return <AskConfirmation value={CONFIRM_DISCONNECT} label={t(lang, 'wa.disconnect.cta')} />
  }
  return (
    <section className="wa-confirm" aria-labelledby="confirm-title">
      <h2 id="confirm-title" tabIndex={-1} ref={heading}>
        {t(lang, 'wa.disconnect.title')}
      </h2>
      <p>{t(lang, 'wa.disconnect.help', { phone: phoneNumber ?? t(lang, 'wa.connected.unknownNumber') })}</p>
      <div className="wa-actions">
        <IntentForm intent={INTENTS.disconnect} state={off}>
          <SubmitButton
            busy={off.busy}
            label={t(lang, 'wa.disconnect.confirm')}
            pendingLabel={t(lang, 'wa.disconnect.pending')}
            variant="danger"
          />
        </IntentForm>
        <Link className="btn btn-secondary" to={PAGE_PATH}>
          {t(lang, 'wa.disconnect.cancel')}
        </Link>
      </div>
      <ActionError result={off.result} id="disconnect-error" />
    </section>
  )
}

// ---------------------------------------------------------------------------------------------

function Degraded({
  lang,
  canMutate,
  confirm,
  actionData,
  status,
  advice,
}: PanelProps & { status: DegradedStatus; advice: StatusAdvice | undefined }) {
  const todo = advice ? <p data-advice={advice}>{t(lang, `wa.advice.${advice}`)}</p> : null
  return (
    <div className="wa-degraded">
      {status === 'yellowCard' || status === 'blocked' ? (
        // WhatsApp restricts or bans the number: a blocking banner, what happened then what to do.
        <div className="alert alert-error wa-banner" role="alert" data-banner={status}>
          <p>
            <strong>{t(lang, `wa.banner.${status}`)}</strong>
          </p>
          {todo}
        </div>
      ) : (
        <div className={status === 'starting' ? 'alert alert-info' : 'alert alert-warn'}>{todo}</div>
      )}
      {canMutate && status !== 'starting' ? (
        <DisconnectBlock lang={lang} confirm={confirm} actionData={actionData} phoneNumber={null} />
      ) : null}
    </div>
  )
}

// ---------------------------------------------------------------------------------------------

const STATUS_KEYS: Record<string, MessageKey> = {
  queued: 'wa.messages.status.queued',
  sending: 'wa.messages.status.sending',
  sent: 'wa.messages.status.sent',
  delivered: 'wa.messages.status.delivered',
  read: 'wa.messages.status.read',
  failed: 'wa.messages.status.failed',
  unknown: 'wa.messages.status.unknown',
  received: 'wa.messages.status.received',
}
const statusText = (lang: Lang, status: string) => (STATUS_KEYS[status] ? t(lang, STATUS_KEYS[status]) : status)

// Pushes may cross (two receipts handled at once): show the furthest status, as the server keeps.
const RANK: Record<string, number> = {
  queued: 0,
  sending: 1,
  unknown: 1.5,
  sent: 2,
  delivered: 3,
  read: 4,
  failed: 5,
  received: 5,
}
const furthest = (a: string | undefined, b: string): string => (a !== undefined && (RANK[a] ?? 0) > (RANK[b] ?? 0) ? a : b)

/** The test message's status, moving live (sent → delivered → read) while JavaScript runs. */
function TestMessageStatus({ lang, id, initial }: { lang: Lang; id: string; initial: string }) {
  const live = useMessageStatuses()
  const status = furthest(live[id], initial)
  return (
    <>
      {' '}
      <span className="wa-test-status" aria-live="polite">
        {t(lang, 'wa.test.status')}{' '}
        <strong data-message-id={id} data-status={status}>
          {statusText(lang, status)}
        </strong>
      </span>
    </>
  )
}

/** Owners/admins: the last messages (no texts, masked peers) and a banner when sending waits. */
function RecentMessages({ lang, messages }: { lang: Lang; messages: RecentMessagesView }) {
  const live = useMessageStatuses()
  const locale = lang === 'en' ? 'en-GB' : 'fr-FR'
  return (
    <section className="wa-card wa-messages" aria-labelledby="wa-messages-title">
      <h2 id="wa-messages-title">{t(lang, 'wa.messages.title')}</h2>
      <p className="muted">{t(lang, 'wa.messages.lead')}</p>
      {messages.sending === 'paused' ? (
        <p className="alert alert-warn" role="status" data-sending="paused">
          {t(lang, 'wa.messages.paused')}
        </p>
      ) : messages.sending === 'waiting' ? (
        <p className="alert alert-info" role="status" data-sending="waiting">
          {t(lang, 'wa.messages.waiting')}
        </p>
      ) : null}
      {messages.items.length === 0 ? (
        <p>{t(lang, 'wa.messages.empty')}</p>
      ) : (
        <table className="wa-messages-table">
          <caption className="wa-sr-only">{t(lang, 'wa.messages.caption', { count: messages.items.length })}</caption>
          <thead>
            <tr>
              <th scope="col">{t(lang, 'wa.messages.col.direction')}</th>
              <th scope="col">{t(lang, 'wa.messages.col.peer')}</th>
              <th scope="col">{t(lang, 'wa.messages.col.status')}</th>
              <th scope="col">{t(lang, 'wa.messages.col.at')}</th>
            </tr>
          </thead>
          <tbody>
            {messages.items.map((m) => {
              const status = furthest(live[m.id], m.status)
              return (
                <tr key={m.id} data-message-id={m.id}>
                  <td>{t(lang, m.direction === 'outbound' ? 'wa.messages.dir.outbound' : 'wa.messages.dir.inbound')}</td>
                  <td className="wa-phone">{m.peer ?? t(lang, 'wa.messages.group')}</td>
                  <td data-status={status}>{statusText(lang, status)}</td>
                  <td>
                    <time dateTime={m.at}>
                      {`${new Date(m.at).toLocaleString(locale, { timeZone: 'UTC', dateStyle: 'short', timeStyle: 'short' })} UTC`}
                    </time>
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
    </section>
  )
}

// ---------------------------------------------------------------------------------------------
// Link health (issue 16): the first-link checklist and the status history.

/** Before a tenant's first link: what keeps a number clear of WhatsApp's bans (decision 207). */
function FirstLinkChecklist({ lang }: { lang: Lang }) {
  const items: MessageKey[] = ['wa.coach.business', 'wa.coach.established', 'wa.coach.noBulkChecks', 'wa.coach.warmUp']
  return (
    <section className="wa-card wa-coach" aria-labelledby="wa-coach-title" data-coaching="first-link">
      <h2 id="wa-coach-title">{t(lang, 'wa.coach.title')}</h2>
      <p className="muted">{t(lang, 'wa.coach.lead')}</p>
      <ul className="wa-benefits">
        {items.map((k) => (
          <li key={k}>{t(lang, k)}</li>
        ))}
      </ul>
    </section>
  )
}

/** "Historique": the last recorded changes of state, newest first, with their source and reason. */
function StatusHistory({ lang, history }: { lang: Lang; history: StatusHistoryView }) {
  const locale = lang === 'en' ? 'en-GB' : 'fr-FR'
  return (
    <section className="wa-card wa-history" aria-labelledby="wa-history-title">
      <h2 id="wa-history-title">{t(lang, 'wa.history.title')}</h2>
      {history.items.length === 0 ? (
        <p>{t(lang, 'wa.history.empty')}</p>
      ) : (
        <table className="wa-messages-table wa-history-table">
          <caption className="wa-sr-only">
            {history.items.length === 1
              ? t(lang, 'wa.history.captionOne')
              : t(lang, 'wa.history.caption', { count: history.items.length })}
          </caption>
          <thead>
            <tr>
              <th scope="col">{t(lang, 'wa.history.col.at')}</th>
              <th scope="col">{t(lang, 'wa.history.col.reason')}</th>
              <th scope="col">{t(lang, 'wa.history.col.source')}</th>
            </tr>
          </thead>
          <tbody>
            {history.items.map((e) => (
              <tr key={e.id} data-history-reason={e.reason} data-history-source={e.source}>
                <td>
                  <time dateTime={e.at}>
                    {`${new Date(e.at).toLocaleString(locale, { timeZone: 'UTC', dateStyle: 'short', timeStyle: 'medium' })} UTC`}
                  </time>
                </td>
                <td>{t(lang, `wa.history.reason.${e.reason}`)}</td>
                <td>{t(lang, `wa.history.source.${e.source}`)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

// Simulator mode (decision 216): where a newcomer "scans" without a phone.

function SimulatedPhone({ lang, link }: { lang: Lang; link: SimulatedPhoneLink }) {
  return (
    <p className="wa-sim-phone">
      <a href={link.href} target="_blank" rel="noopener noreferrer" className="btn btn-secondary">
        {t(lang, link.kind === 'scan' ? 'wa.sim.openPhone' : 'wa.sim.openPairing')}
      </a>{' '}
      <span className="muted">{t(lang, 'wa.sim.openHint')}</span>
    </p>
  )
}

// ---------------------------------------------------------------------------------------------
// The right phone (issue 16, decision 200): the expected number on the QR form, and the notice
// of a refused attempt.

function ExpectedPhoneField({ lang, prefill, result }: { lang: Lang; prefill: string | null; result: ActionResult | null }) {
  const refused = result && !result.ok && result.field === 'expectedPhone' ? result.message : null
  return (
    <PhoneField
      name="expectedPhone"
      label={t(lang, 'wa.expectedPhone.label')}
      hint={
        <>
          {t(lang, 'wa.expectedPhone.help')}
          {prefill ? ` ${t(lang, 'wa.expectedPhone.prefilled')}` : null}
        </>
      }
      error={refused}
      maxLength={32}
      defaultValue={prefill ?? ''}
    />
  )
}

/** A phone number input with its hint and, when the server refused it, its error (both linked by aria). */
function PhoneField(props: {
  name: string
  label: string
  hint: ReactNode
  error: string | null
  maxLength: number
  required?: boolean
  defaultValue?: string
}) {
  const { name, error } = props
  return (
    <div className="field">
      <label htmlFor={name}>{props.label}</label>
      <input
        id={name}
        name={name}
        type="tel"
        inputMode="tel"
        autoComplete="tel"
        required={props.required}
        maxLength={props.maxLength}
        placeholder="+33612345678"
        defaultValue={props.defaultValue}
        aria-describedby={error !== null ? `${name}-hint ${name}-error` : `${name}-hint`}
        aria-invalid={error !== null || undefined}
      />
      <span id={`${name}-hint`} className="hint">
        {props.hint}
      </span>
      {error !== null ? (
        <span id={`${name}-error`} className="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  )
}

function WrongNumberNotice({ lang, refused }: { lang: Lang; refused: { expectedPhone: string; actualPhoneMasked: string } }) {
  return (
    <div className="alert alert-warn" role="alert" data-code="WRONG_NUMBER">
      <strong>{t(lang, 'wa.wrongNumber.title')}</strong>{' '}
      {t(lang, 'wa.wrongNumber.body', { actual: refused.actualPhoneMasked, expected: refused.expectedPhone })}
    </div>
  )
}
