import { render } from 'preact';
import { App } from './App';
import { initLang } from './i18n';
import './styles.css';

initLang();
render(<App />, document.getElementById('app')!);
