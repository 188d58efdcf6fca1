// Run in the page by tests/browser_session.py's layout_problems: what a student would see go wrong in the widget
// outputs of ``panel`` (a notebook panel), with ``limits`` = {stretch, overlap}.
(panel, limits) => {
    const problems = [];
    const shown = element => {
        const box = element.getBoundingClientRect();
        return box.width > 0 && box.height > 0 && getComputedStyle(element).visibility !== 'hidden';
    };
    const text = element => (element.value !== undefined && element.tagName !== 'BUTTON' ? String(element.value)
        : element.innerText || '').trim().replace(/\s+/g, ' ').slice(0, 60);
    const cellOf = element => {
        const cell = element.closest('.jp-Cell');
        const cells = [...panel.querySelectorAll('.jp-Cell')];
        return cell ? `cell ${cells.indexOf(cell)}` : 'a cell';
    };
    const measure = document.createElement('canvas').getContext('2d');
    const textWidth = (element, words) => {
        const style = getComputedStyle(element);
        measure.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        return measure.measureText(words).width;
    };
    // how far two boxes share the page's width and its height (negative: apart)
    const sharedWidth = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const sharedHeight = (a, b) => Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    const widgets = [...panel.querySelectorAll('.jp-OutputArea .jupyter-widgets')];
    const inWidgets = selector => [...new Set(widgets.flatMap(widget => [...widget.querySelectorAll(selector)]))]
        .filter(shown);

    // 1. text cut off: a label, readout or button whose words need more room than it has
    for (const element of inWidgets('.widget-label, .widget-label-basic, .widget-readout, button, input')) {
        if (element.tagName === 'INPUT' && !['text', 'number', ''].includes(element.type)) continue;
        const words = text(element);
        if (!words) continue;
        if (element.scrollWidth > element.clientWidth + 1) {
            problems.push(`${cellOf(element)}: "${words}" is cut off (${element.scrollWidth} px of text in ` +
                          `${element.clientWidth} px)`);
        }
    }
    for (const element of inWidgets('select')) {
        if (element.multiple || element.selectedIndex < 0) continue;
        const words = element.options[element.selectedIndex].text;
        const room = element.clientWidth - 28;  // the arrow and the padding
        const needed = textWidth(element, words);
        if (needed > room) {
            problems.push(`${cellOf(element)}: the choice "${words}" is cut off (needs ${Math.ceil(needed)} px, ` +
                          `has ${room} px)`);
        }
    }
    // 1b. a control's label wrapped onto a line of its own, away from the control it names
    for (const label of inWidgets('.widget-label')) {
        const control = label.parentElement;
        const others = [...control.children].filter(child => child !== label && shown(child));
        if (!others.length || !text(label)) continue;
        const box = label.getBoundingClientRect();
        const beside = others.some(other => sharedHeight(box, other.getBoundingClientRect()) > limits.overlap);
        if (!beside) problems.push(`${cellOf(label)}: the label "${text(label)}" sits on a line of its own`);
    }
    // 2. a figure drawn wider than its own pixels
    for (const image of [...panel.querySelectorAll('.jp-OutputArea img')].filter(shown)) {
        if (image.naturalWidth && image.clientWidth > image.naturalWidth * limits.stretch) {
            problems.push(`${cellOf(image)}: a figure of ${image.naturalWidth} px is stretched to ` +
                          `${image.clientWidth} px (blurry)`);
        }
    }
    // 3. text over text, or over a figure, inside a widget
    const pieces = inWidgets('.widget-label, .widget-label-basic, .widget-readout, button, select, input, ' +
                             '.widget-html-content, img, .widget-checkbox');
    const leaves = pieces.filter(piece => !pieces.some(other => other !== piece && piece.contains(other)));
    for (let i = 0; i < leaves.length; i++) {
        for (let j = i + 1; j < leaves.length; j++) {
            const a = leaves[i].getBoundingClientRect(), b = leaves[j].getBoundingClientRect();
            const wide = sharedWidth(a, b), high = sharedHeight(a, b);
            if (wide > limits.overlap && high > limits.overlap) {
                const name = element => element.tagName === 'IMG' ? 'a figure' : `"${text(element).slice(0, 30)}"`;
                problems.push(`${cellOf(leaves[i])}: ${name(leaves[i])} and ${name(leaves[j])} overlap ` +
                              `(${Math.round(wide)} x ${Math.round(high)} px)`);
            }
        }
    }
    return problems;
}
