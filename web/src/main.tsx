import { render } from 'preact';
import { App } from './app/App';
import { initLang } from './shared/i18n';
import './styles.css';

initLang();
render(<App />, document.getElementById('app')!);
