import { Link } from '@remix-run/react'
import { t, type Lang } from '../../utils/i18n'
import { ActionError, AskConfirmation, IntentForm, SubmitButton, useFocusOnConfirm, useIntent } from './intent-form'
import { CONFIRM_DELETE_NUMBER, DELETE_UNDERSTOOD_FIELD, INTENTS, PAGE_PATH } from './intents'
import type { ActionResult, LifecycleView, PanelView } from './types'

/**
 * Reboot and remove (issue #16, decisions 210–211), below the state's own body: "Redémarrer" for
 * an instance stuck in `starting` or `sleepMode`; in partner mode, what "Déconnecter" keeps and a
 * separate "Supprimer le numéro" with a confirmation step that states the consequence and a
 * required checkbox (both work without JavaScript).
 */
export function LifecycleBlock({
  lang,
  canMutate,
  confirmDisconnect,
  view,
  lifecycle,
  actionData,
}: {
  lang: Lang
  canMutate: boolean
  confirmDisconnect: boolean
  view: PanelView
  lifecycle: LifecycleView
  actionData: ActionResult | null
}) {
  if (!canMutate) return null
  const stuck = view.state === 'degraded' && (view.status === 'starting' || view.status === 'sleepMode')
  return (
    <>
      {stuck ? <RebootBlock lang={lang} actionData={actionData} /> : null}
      {lifecycle.partnerMode && confirmDisconnect ? (
        <p className="alert alert-info" data-partner-note="">
          {t(lang, 'wa.disconnect.partnerNote')}
        </p>
      ) : null}
      {lifecycle.deleteNumber ? (
        <DeleteNumberBlock lang={lang} confirm={lifecycle.confirmDelete} actionData={actionData} />
      ) : null}
    </>
  )
}

function RebootBlock({ lang, actionData }: { lang: Lang; actionData: ActionResult | null }) {
  const reboot = useIntent(INTENTS.reboot, actionData)
  return (
    <section className="wa-subcard" aria-labelledby="reboot-title">
      <h2 id="reboot-title">{t(lang, 'wa.reboot.title')}</h2>
      <p className="muted">{t(lang, 'wa.reboot.help')}</p>
      <IntentForm intent={INTENTS.reboot} state={reboot}>
        <SubmitButton
          busy={reboot.busy}
          label={t(lang, 'wa.reboot.cta')}
          pendingLabel={t(lang, 'wa.reboot.pending')}
          variant="secondary"
        />
      </IntentForm>
      {reboot.result?.ok ? (
        <p className="alert alert-success" role="status">
          {t(lang, 'wa.reboot.done')}
        </p>
      ) : null}
      <ActionError result={reboot.result} id="reboot-error" />
    </section>
  )
}

function DeleteNumberBlock({ lang, confirm, actionData }: { lang: Lang; confirm: boolean; actionData: ActionResult | null }) {
  const del = useIntent(INTENTS.deleteNumber, actionData)
  const heading = useFocusOnConfirm(confirm)
  const unticked = del.result && !del.result.ok && del.result.field === 'understood'
  if (!confirm) {
    return <AskConfirmation value={CONFIRM_DELETE_NUMBER} label={t(lang, 'wa.delete.cta')} />
  }
  return (
    <section className="wa-confirm" aria-labelledby="delete-title">
      <h2 id="delete-title" tabIndex={-1} ref={heading}>
        {t(lang, 'wa.delete.title')}
      </h2>
      <p id="delete-help">{t(lang, 'wa.delete.help')}</p>
      <IntentForm intent={INTENTS.deleteNumber} state={del} describedBy="delete-help">
        <div className="field">
          <label className="field-check">
            <input
              type="checkbox"
              name={DELETE_UNDERSTOOD_FIELD}
              value="yes"
              required
              aria-invalid={unticked || undefined}
              aria-describedby={unticked ? 'understood-error' : undefined}
            />{' '}
            {t(lang, 'wa.delete.understand')}
          </label>
          {unticked ? (
            <span id="understood-error" className="field-error" role="alert">
              {t(lang, 'wa.delete.mustConfirm')}
            </span>
          ) : null}
        </div>
        <div className="wa-actions">
          <SubmitButton
            busy={del.busy}
            label={t(lang, 'wa.delete.confirm')}
            pendingLabel={t(lang, 'wa.delete.pending')}
            variant="danger"
          />
          <Link className="btn btn-secondary" to={PAGE_PATH}>
            {t(lang, 'wa.delete.cancel')}
          </Link>
        </div>
      </IntentForm>
      <ActionError result={del.result} id="delete-number-error" />
    </section>
  )
}
