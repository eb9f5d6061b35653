import './base.css';
import './inline.css';
import './stale.css';
