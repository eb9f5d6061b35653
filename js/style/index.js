import './base.css';
import './stale.css';
