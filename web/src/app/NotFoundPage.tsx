import { t } from '../shared/i18n';
import { href } from './router';

export function NotFoundPage() {
  return (
    <section class="page">
      <h1>{t('notFound.title')}</h1>
      <p>{t('notFound.text')}</p>
      <p>
        <a class="btn" href={href('/')}>{t('nav.home')}</a>
      </p>
    </section>
  );
}
