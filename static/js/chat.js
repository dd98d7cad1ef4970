// The chat panel: lines from the server (everyone's, ours included), an unread count.

export class ChatPanel {
  /**
   * @param {object} o
   * @param {HTMLElement} o.list messages container
   * @param {HTMLFormElement} o.form
   * @param {HTMLInputElement} o.input
   * @param {HTMLElement} o.unread count badge
   * @param {(text: string) => boolean} o.send returns false when offline
   * @param {() => boolean} o.isVisible whether the chat panel is open
   */
  constructor(o) {
    this.o = o;
    /** Every line received, oldest first: {from, name, text, ts}. */
    this.lines = [];
    this.unread = 0;
    this.selfId = '';
    o.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = o.input.value.trim();
      if (!text) return;
      if (o.send(text.slice(0, 4096))) o.input.value = '';
    });
  }

  add(line) {
    this.lines.push({ from: line.from, name: line.name, text: line.text, ts: line.ts });
    const list = this.o.list;
    list.querySelector('.empty')?.remove();
    const msg = document.createElement('div');
    msg.className = `msg${line.from === this.selfId ? ' mine' : ''}`;
    const meta = document.createElement('div');
    meta.className = 'meta';
    const who = document.createElement('b');
    who.textContent = line.from === this.selfId ? 'You' : line.name;
    meta.append(who, new Date(line.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    const text = document.createElement('div');
    text.className = 'text';
    text.textContent = line.text;
    msg.append(meta, text);
    list.append(msg);
    list.scrollTop = list.scrollHeight;
    if (!this.o.isVisible() && line.from !== this.selfId) {
      this.unread++;
      this.renderUnread();
    }
  }

  markRead() {
    this.unread = 0;
    this.renderUnread();
  }

  renderUnread() {
    this.o.unread.hidden = this.unread === 0;
    this.o.unread.textContent = this.unread > 9 ? '9+' : String(this.unread);
  }
}
